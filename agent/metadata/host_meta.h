/*
 * Host metadata: the host.* ECS fields of the machine the agent runs on,
 * from uname(2), os-release(5), /etc/machine-id and getifaddrs(3).
 */
#ifndef LF_AGENT_METADATA_HOST_META_H
#define LF_AGENT_METADATA_HOST_META_H

#include <stdint.h>

#include <uv.h>

#include "agent/metadata/meta_set.h"
#include "agent/metadata/meta_source.h"
#include "agent/metadata/os_release.h"

#include <ifaddrs.h>
#include <sys/utsname.h>

/* Default time between two collections of the host fields, in ms. */
enum { LF_HOST_META_DEFAULT_REFRESH_MS = 5 * 60 * 1000 };

/*
 * Collects the host fields into a new set (reference count 1) in `*out`:
 * host.name (the lower-cased host name), host.hostname, host.architecture,
 * host.os.type, host.os.platform, host.os.kernel, host.os.name,
 * host.os.version, host.os.full, host.os.family, host.id, and the arrays
 * host.ip and host.mac. A field whose source is missing is left out, so
 * the set is never NULL on success.
 *
 * `root` prefixes the paths of /etc/os-release, /usr/lib/os-release and
 * /etc/machine-id; "" reads the real file system. Returns 0, or the
 * negative LF_E* code of uname() or getifaddrs() failing.
 */
int lf_host_meta_collect(const char *root, struct lf_meta_set **out);

/*
 * Creates a source that runs lf_host_meta_collect() on libuv's thread pool
 * at start and every `refresh_ms` (0: LF_HOST_META_DEFAULT_REFRESH_MS), so
 * that address changes reach events without a restart. `root` is copied.
 * Returns 0 or a negative LF_E* code.
 */
int lf_host_meta_source_new(uv_loop_t *loop, const char *root,
                            uint64_t refresh_ms, struct lf_meta_source **out);

/* The steps of lf_host_meta_collect(), for tests with their own inputs. */

/*
 * Adds host.name, host.hostname, host.architecture, host.os.type,
 * host.os.kernel, and host.os.platform (the lower-case system name). A
 * field the builder already has is kept, so host.os.platform from
 * os-release wins when that step ran first. Returns 0 or a negative LF_E*
 * code of the builder.
 */
int lf_host_meta_add_uname(struct lf_meta_builder *b,
                           const struct utsname *uts);

/*
 * Adds host.os.platform (ID), host.os.name, host.os.version (VERSION, or
 * VERSION_ID without it), host.os.full (PRETTY_NAME) and host.os.family.
 */
int lf_host_meta_add_os_release(struct lf_meta_builder *b,
                                const struct lf_os_release *osr);

/*
 * Adds host.id from the text of /etc/machine-id: 32 lower-case hex digits
 * and a newline. Returns 0, or LF_EPARSE for any other text.
 */
int lf_host_meta_add_machine_id(struct lf_meta_builder *b, const char *text,
                                size_t len);

/*
 * Appends to host.ip every IPv4 and IPv6 address of the interfaces in
 * `list` that are up and not loopback, and to host.mac their link-layer
 * addresses written as ECS does ("00-00-5E-00-53-23"), each value once.
 */
int lf_host_meta_add_addresses(struct lf_meta_builder *b,
                               const struct ifaddrs *list);

#endif
