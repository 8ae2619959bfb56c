/*
 * Reader of os-release(5), the operating system identification file of
 * systemd-era Linux distributions: /etc/os-release, or /usr/lib/os-release
 * when the first is missing.
 */
#ifndef LF_AGENT_METADATA_OS_RELEASE_H
#define LF_AGENT_METADATA_OS_RELEASE_H

#include <stddef.h>

/* Values of the keys the host metadata uses; NULL when absent or empty. */
struct lf_os_release {
    char *id;          /* ID, e.g. "ubuntu" (owned) */
    char *id_like;     /* ID_LIKE, space-separated, e.g. "rhel fedora" */
    char *name;        /* NAME, e.g. "Ubuntu" */
    char *version;     /* VERSION, e.g. "24.04.1 LTS (Noble Numbat)" */
    char *version_id;  /* VERSION_ID, e.g. "24.04" */
    char *pretty_name; /* PRETTY_NAME, e.g. "Ubuntu 24.04.1 LTS" */
};

void lf_os_release_init(struct lf_os_release *osr);
void lf_os_release_cleanup(struct lf_os_release *osr);

/*
 * Parses `len` bytes of os-release text into `osr`, which must be
 * initialised; a key given twice keeps its last value, as in a shell.
 * Values may be unquoted, or quoted with double or single quotes, and a
 * backslash escapes the next character inside double quotes and unquoted
 * text. Comments, blank lines and malformed lines are skipped.
 */
void lf_os_release_parse(const char *text, size_t len,
                         struct lf_os_release *osr);

/*
 * Reads `root`/etc/os-release, or `root`/usr/lib/os-release when the first
 * does not exist, into the initialised `osr`. `root` is "" for the real
 * file system. Returns 0, LF_ENOENT when neither file exists, or another
 * negative LF_E* code when reading fails.
 */
int lf_os_release_read(const char *root, struct lf_os_release *osr);

/*
 * Returns the distribution family for host.os.family: "debian", "redhat",
 * "suse" or "arch" when ID or a word of ID_LIKE belongs to one, else ID,
 * else NULL.
 */
const char *lf_os_release_family(const struct lf_os_release *osr);

#endif
