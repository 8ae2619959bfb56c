/*
 * host.* fields for add_host_metadata. Every source is a system call or a
 * file of a few hundred bytes. The source collects them on libuv's thread
 * pool anyway, so that a slow file system never stalls the loop.
 */
#include "agent/metadata/host_meta.h"

#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* A machine ID is 128 bits written as hex, see machine-id(5). */
enum { LF_MACHINE_ID_LEN = 32 };

/* host.mac takes EUI-48 addresses; longer ones (InfiniBand) are skipped. */
enum { LF_MAC_LEN = 6 };

/* Adds a field unless the builder has it already. */
static int add_once(struct lf_meta_builder *b, const char *key,
                    const char *value)
{
    int rc;

    if (value == NULL || value[0] == '\0') {
        return 0;
    }
    rc = lf_meta_builder_add_str(b, key, value, strlen(value));
    return rc == LF_EEXIST ? 0 : rc;
}

/* ECS host.os.type: one of linux, macos, unix, windows, ios, android. */
static const char *os_type(const char *sysname)
{
    if (strcmp(sysname, "Linux") == 0) {
        return "linux";
    }
    if (strcmp(sysname, "Darwin") == 0) {
        return "macos";
    }
    return "unix";
}

int lf_host_meta_add_uname(struct lf_meta_builder *b,
                           const struct utsname *uts)
{
    char lower[sizeof(uts->nodename)];
    char platform[sizeof(uts->sysname)];
    int rc;

    for (size_t i = 0; i < sizeof(lower); i++) {
        lower[i] = (char)tolower((unsigned char)uts->nodename[i]);
    }
    for (size_t i = 0; i < sizeof(platform); i++) {
        platform[i] = (char)tolower((unsigned char)uts->sysname[i]);
    }

    rc = add_once(b, "host.name", lower);
    if (rc == 0) {
        rc = add_once(b, "host.hostname", uts->nodename);
    }
    if (rc == 0) {
        rc = add_once(b, "host.architecture", uts->machine);
    }
    if (rc == 0) {
        rc = add_once(b, "host.os.type", os_type(uts->sysname));
    }
    if (rc == 0) {
        rc = add_once(b, "host.os.kernel", uts->release);
    }
    if (rc == 0) {
        rc = add_once(b, "host.os.platform", platform);
    }
    return rc;
}

int lf_host_meta_add_os_release(struct lf_meta_builder *b,
                                const struct lf_os_release *osr)
{
    const char *version = osr->version ? osr->version : osr->version_id;
    int rc;

    rc = add_once(b, "host.os.platform", osr->id);
    if (rc == 0) {
        rc = add_once(b, "host.os.name", osr->name);
    }
    if (rc == 0) {
        rc = add_once(b, "host.os.version", version);
    }
    if (rc == 0) {
        rc = add_once(b, "host.os.full", osr->pretty_name);
    }
    if (rc == 0) {
        rc = add_once(b, "host.os.family", lf_os_release_family(osr));
    }
    return rc;
}

int lf_host_meta_add_machine_id(struct lf_meta_builder *b, const char *text,
                                size_t len)
{
    if (len > 0 && text[len - 1] == '\n') {
        len--;
    }
    if (len != LF_MACHINE_ID_LEN) {
        return LF_EPARSE;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isxdigit((unsigned char)text[i]) ||
            isupper((unsigned char)text[i])) {
            return LF_EPARSE;
        }
    }
    return lf_meta_builder_add_str(b, "host.id", text, len);
}

/* Appends `value` to the array `key` unless it is there already. */
static int append_unique(struct lf_meta_builder *b, const char *key,
                         const char *value)
{
    size_t len = strlen(value);

    for (size_t i = 0; i < b->count; i++) {
        const struct lf_meta_field *f = &b->fields[i];

        if (strcmp(f->key, key) != 0) {
            continue;
        }
        for (size_t j = 0; j < f->value_count; j++) {
            if (f->values[j].u.str.len == len &&
                memcmp(f->values[j].u.str.ptr, value, len) == 0) {
                return 0;
            }
        }
    }
    return lf_meta_builder_append_str(b, key, value, len);
}

static int add_ip(struct lf_meta_builder *b, const struct sockaddr *sa)
{
    char text[INET6_ADDRSTRLEN];
    const void *addr;

    if (sa->sa_family == AF_INET) {
        addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    } else {
        addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    }
    if (inet_ntop(sa->sa_family, addr, text, sizeof(text)) == NULL) {
        return -errno;
    }
    return append_unique(b, "host.ip", text);
}

static int add_mac(struct lf_meta_builder *b, const struct sockaddr *sa)
{
    const struct sockaddr_ll *ll = (const struct sockaddr_ll *)(const void *)sa;
    char text[3 * LF_MAC_LEN];
    unsigned char any = 0;

    if (ll->sll_halen != LF_MAC_LEN) {
        return 0;
    }
    for (size_t i = 0; i < LF_MAC_LEN; i++) {
        any |= ll->sll_addr[i];
        snprintf(text + 3 * i, sizeof(text) - 3 * i, "%02X%s",
                 ll->sll_addr[i], i + 1 < LF_MAC_LEN ? "-" : "");
    }
    /* Some virtual interfaces report an all-zero address, which identifies
       nothing. */
    return any != 0 ? append_unique(b, "host.mac", text) : 0;
}

int lf_host_meta_add_addresses(struct lf_meta_builder *b,
                               const struct ifaddrs *list)
{
    int rc = 0;

    for (const struct ifaddrs *ifa = list; ifa != NULL && rc == 0;
         ifa = ifa->ifa_next) {
        if (ifa->ifa_addr == NULL || !(ifa->ifa_flags & IFF_UP) ||
            (ifa->ifa_flags & IFF_LOOPBACK)) {
            continue;
        }
        switch (ifa->ifa_addr->sa_family) {
        case AF_INET:
        case AF_INET6:
            rc = add_ip(b, ifa->ifa_addr);
            break;
        case AF_PACKET:
            rc = add_mac(b, ifa->ifa_addr);
            break;
        default:
            break;
        }
    }
    return rc;
}

/* Adds host.id when `root`/etc/machine-id exists and is valid. */
static int add_machine_id_file(struct lf_meta_builder *b, const char *root)
{
    char text[LF_MACHINE_ID_LEN + 2];
    struct lf_buf path;
    FILE *f;
    size_t n;

    lf_buf_init(&path);
    lf_buf_appendf(&path, "%s/etc/machine-id", root);
    f = fopen(path.data, "rb");
    lf_buf_cleanup(&path);
    if (f == NULL) {
        return 0;
    }
    n = fread(text, 1, sizeof(text), f);
    fclose(f);
    /* An empty or invalid file, as container images often have, leaves
       host.id out instead of failing the whole set. */
    lf_host_meta_add_machine_id(b, text, n);
    return 0;
}

int lf_host_meta_collect(const char *root, struct lf_meta_set **out)
{
    struct lf_meta_builder b;
    struct lf_os_release osr;
    struct ifaddrs *addrs = NULL;
    struct utsname uts;
    int rc = 0;

    *out = NULL;
    lf_meta_builder_init(&b);
    lf_os_release_init(&osr);

    /* A missing or unreadable os-release leaves the host.os.* fields that
       only it provides out; uname still fills the rest. */
    if (lf_os_release_read(root, &osr) == 0) {
        rc = lf_host_meta_add_os_release(&b, &osr);
    }
    if (rc == 0 && uname(&uts) != 0) {
        rc = -errno;
    }
    if (rc == 0) {
        rc = lf_host_meta_add_uname(&b, &uts);
    }
    if (rc == 0) {
        rc = add_machine_id_file(&b, root);
    }
    if (rc == 0 && getifaddrs(&addrs) != 0) {
        rc = -errno;
    }
    if (rc == 0) {
        rc = lf_host_meta_add_addresses(&b, addrs);
    }
    if (rc == 0) {
        *out = lf_meta_builder_finish(&b);
    }

    if (addrs != NULL) {
        freeifaddrs(addrs);
    }
    lf_os_release_cleanup(&osr);
    lf_meta_builder_cleanup(&b);
    return rc;
}

/* Collection on the thread pool, reported to the source from the loop. */
struct host_fetch {
    uv_loop_t *loop;
    uv_work_t work;
    char *root;               /* owned */
    struct lf_meta_set *set;  /* result of the work */
    int error;                /* result of the work */
    lf_meta_fetch_done_cb done;
    void *done_arg;
    char detail[128];
};

static void collect_on_pool(uv_work_t *work)
{
    struct host_fetch *f = work->data;

    f->error = lf_host_meta_collect(f->root, &f->set);
}

static void on_collected(uv_work_t *work, int status)
{
    struct host_fetch *f = work->data;
    lf_meta_fetch_done_cb done = f->done;
    struct lf_meta_set *set = f->set;
    int error = status == UV_ECANCELED ? LF_ECANCELED : f->error;

    f->set = NULL;
    f->done = NULL;
    if (error != 0) {
        lf_meta_set_unref(set);
        set = NULL;
        snprintf(f->detail, sizeof(f->detail),
                 "collecting host fields failed: %s", lf_strerror(error));
    }
    done(f->done_arg, error, set, f->detail);
}

static int host_fetch(void *state, struct lf_http_client *http,
                      long timeout_ms, lf_meta_fetch_done_cb done, void *arg)
{
    struct host_fetch *f = state;
    int rc;

    /* Local calls need neither the HTTP client nor a timeout. */
    (void)http;
    (void)timeout_ms;
    f->work.data = f;
    f->set = NULL;
    f->error = 0;
    f->detail[0] = '\0';
    rc = uv_queue_work(f->loop, &f->work, collect_on_pool, on_collected);
    if (rc != 0) {
        return rc;
    }
    f->done = done;
    f->done_arg = arg;
    return 0;
}

static void host_free(void *state)
{
    struct host_fetch *f = state;

    lf_free(f->root);
    lf_free(f);
}

int lf_host_meta_source_new(uv_loop_t *loop, const char *root,
                            uint64_t refresh_ms, struct lf_meta_source **out)
{
    struct lf_meta_source_options opts = {0};
    struct lf_meta_fetcher fetcher = {0};
    struct host_fetch *f = lf_calloc(1, sizeof(*f));

    f->loop = loop;
    f->root = lf_strdup(root);
    fetcher.component = "add_host_metadata";
    fetcher.state = f;
    fetcher.fetch = host_fetch;
    fetcher.free = host_free;
    opts.refresh_ms = refresh_ms > 0 ? refresh_ms
                                     : LF_HOST_META_DEFAULT_REFRESH_MS;
    return lf_meta_source_new(loop, &fetcher, &opts, out);
}
