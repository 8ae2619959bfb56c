/*
 * Tests of the host metadata: the os-release reader, the family table,
 * the uname and machine ID steps, address filtering on hand-built
 * interface lists, a whole collection under a fixture root, and the
 * source that repeats it on a loop.
 */
#include "agent/metadata/host_meta.h"
#include "agent/metadata/os_release.h"

#include "lf/error.h"
#include "lf/mem.h"

#include "lf_test.h"

#include <uv.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>

static const char *value_of(const struct lf_meta_set *set, const char *key,
                            size_t i)
{
    static char text[512];
    const struct lf_meta_field *field = lf_meta_set_get(set, key);

    if (field == NULL || i >= field->value_count) {
        return NULL;
    }
    snprintf(text, sizeof(text), "%.*s", (int)field->values[i].u.str.len,
             field->values[i].u.str.ptr);
    return text;
}

static size_t value_count(const struct lf_meta_set *set, const char *key)
{
    const struct lf_meta_field *field = lf_meta_set_get(set, key);

    return field != NULL ? field->value_count : 0;
}

static void parse_text(const char *text, struct lf_os_release *osr)
{
    lf_os_release_init(osr);
    lf_os_release_parse(text, strlen(text), osr);
}

static void test_os_release_parse_quoting(void)
{
    struct lf_os_release osr;

    parse_text("# comment\n"
               "\n"
               "NAME=\"Debian GNU/Linux\"\n"
               "ID=debian\n"
               "VERSION='12 (bookworm)'\n"
               "VERSION_ID=\"12\"  \r\n"
               "PRETTY_NAME=\"Say \\\"hi\\\" \\\\ \\$HOME\"\n"
               "HOME_URL=\"https://www.debian.org/\"\n",
               &osr);
    LF_CHECK_STR_EQ(osr.name, "Debian GNU/Linux");
    LF_CHECK_STR_EQ(osr.id, "debian");
    LF_CHECK_STR_EQ(osr.version, "12 (bookworm)");
    LF_CHECK_STR_EQ(osr.version_id, "12");
    LF_CHECK_STR_EQ(osr.pretty_name, "Say \"hi\" \\ $HOME");
    LF_CHECK(osr.id_like == NULL);
    lf_os_release_cleanup(&osr);
}

static void test_os_release_parse_skips_malformed(void)
{
    struct lf_os_release osr;

    parse_text("NAME=\"unterminated\n"
               "ID='single' trailing\n"
               "=value\n"
               "VERSION\n"
               "VERSION_ID=\"\"\n"
               "ID_LIKE=first\n"
               "ID_LIKE=\"rhel fedora\"\n"
               "PRETTY_NAME=no newline at end",
               &osr);
    LF_CHECK(osr.name == NULL);
    LF_CHECK(osr.id == NULL);
    LF_CHECK(osr.version == NULL);
    LF_CHECK(osr.version_id == NULL);
    LF_CHECK_STR_EQ(osr.id_like, "rhel fedora");
    LF_CHECK_STR_EQ(osr.pretty_name, "no newline at end");
    lf_os_release_cleanup(&osr);
}

static void test_os_release_family_table(void)
{
    static const struct {
        const char *text;
        const char *family;
    } cases[] = {
        {"ID=ubuntu\nID_LIKE=debian\n", "debian"},
        {"ID=debian\n", "debian"},
        {"ID=amzn\nID_LIKE=\"centos rhel fedora\"\n", "redhat"},
        {"ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", "redhat"},
        {"ID=opensuse-leap\nID_LIKE=\"suse opensuse\"\n", "suse"},
        {"ID=pop\nID_LIKE=\"ubuntu debian\"\n", "debian"},
        {"ID=endeavouros\nID_LIKE=arch\n", "arch"},
        {"ID=alpine\n", "alpine"},
        {"NAME=Unknown\n", NULL},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        struct lf_os_release osr;

        parse_text(cases[i].text, &osr);
        LF_CHECK_STR_EQ(lf_os_release_family(&osr), cases[i].family);
        lf_os_release_cleanup(&osr);
    }
}

static void test_os_release_read_prefers_etc(void)
{
    struct lf_os_release osr;

    lf_os_release_init(&osr);
    LF_CHECK_INT_EQ(lf_os_release_read(lf_test_fixture("host-metadata/"
                                                       "etc-root"),
                                       &osr),
                    0);
    LF_CHECK_STR_EQ(osr.id, "amzn");
    LF_CHECK_STR_EQ(osr.name, "Amazon Linux");
    LF_CHECK_STR_EQ(osr.pretty_name, "Amazon Linux 2023.6.20241212");
    lf_os_release_cleanup(&osr);
}

static void test_os_release_read_usr_lib_fallback(void)
{
    struct lf_os_release osr;

    lf_os_release_init(&osr);
    LF_CHECK_INT_EQ(lf_os_release_read(lf_test_fixture("host-metadata/"
                                                       "usr-lib-root"),
                                       &osr),
                    0);
    LF_CHECK_STR_EQ(osr.id, "opensuse-leap");
    LF_CHECK_STR_EQ(osr.name, "openSUSE Leap");
    LF_CHECK_STR_EQ(lf_os_release_family(&osr), "suse");
    lf_os_release_cleanup(&osr);

    lf_os_release_init(&osr);
    LF_CHECK_INT_EQ(lf_os_release_read(lf_test_fixture("host-metadata/none"),
                                       &osr),
                    LF_ENOENT);
    LF_CHECK(osr.id == NULL);
    lf_os_release_cleanup(&osr);
}

static void test_host_meta_uname_fields(void)
{
    struct lf_meta_builder b;
    struct lf_meta_set *set;
    struct utsname uts;

    memset(&uts, 0, sizeof(uts));
    snprintf(uts.sysname, sizeof(uts.sysname), "Linux");
    snprintf(uts.nodename, sizeof(uts.nodename), "Web-01.Example.com");
    snprintf(uts.release, sizeof(uts.release), "6.1.0-28-cloud-amd64");
    snprintf(uts.machine, sizeof(uts.machine), "aarch64");

    lf_meta_builder_init(&b);
    LF_CHECK_INT_EQ(lf_host_meta_add_uname(&b, &uts), 0);
    set = lf_meta_builder_finish(&b);
    LF_CHECK_INT_EQ(lf_meta_set_count(set), 6);
    LF_CHECK_STR_EQ(value_of(set, "host.name", 0), "web-01.example.com");
    LF_CHECK_STR_EQ(value_of(set, "host.hostname", 0), "Web-01.Example.com");
    LF_CHECK_STR_EQ(value_of(set, "host.architecture", 0), "aarch64");
    LF_CHECK_STR_EQ(value_of(set, "host.os.type", 0), "linux");
    LF_CHECK_STR_EQ(value_of(set, "host.os.kernel", 0),
                    "6.1.0-28-cloud-amd64");
    LF_CHECK_STR_EQ(value_of(set, "host.os.platform", 0), "linux");
    lf_meta_set_unref(set);
    lf_meta_builder_cleanup(&b);
}

static void test_host_meta_os_release_wins_platform(void)
{
    struct lf_meta_builder b;
    struct lf_meta_set *set;
    struct lf_os_release osr;
    struct utsname uts;

    memset(&uts, 0, sizeof(uts));
    snprintf(uts.sysname, sizeof(uts.sysname), "Linux");
    snprintf(uts.nodename, sizeof(uts.nodename), "h");
    snprintf(uts.release, sizeof(uts.release), "6.8.0");
    snprintf(uts.machine, sizeof(uts.machine), "x86_64");
    parse_text("NAME=Ubuntu\nID=ubuntu\nID_LIKE=debian\n"
               "VERSION_ID=\"24.04\"\n",
               &osr);

    lf_meta_builder_init(&b);
    LF_CHECK_INT_EQ(lf_host_meta_add_os_release(&b, &osr), 0);
    LF_CHECK_INT_EQ(lf_host_meta_add_uname(&b, &uts), 0);
    set = lf_meta_builder_finish(&b);
    LF_CHECK_STR_EQ(value_of(set, "host.os.platform", 0), "ubuntu");
    LF_CHECK_STR_EQ(value_of(set, "host.os.name", 0), "Ubuntu");
    LF_CHECK_STR_EQ(value_of(set, "host.os.version", 0), "24.04");
    LF_CHECK_STR_EQ(value_of(set, "host.os.family", 0), "debian");
    LF_CHECK(lf_meta_set_get(set, "host.os.full") == NULL);
    LF_CHECK_INT_EQ(lf_meta_set_count(set), 9);
    lf_meta_set_unref(set);
    lf_meta_builder_cleanup(&b);
    lf_os_release_cleanup(&osr);
}

static void test_host_meta_machine_id_validation(void)
{
    static const struct {
        const char *text;
        int rc;
    } cases[] = {
        {"0f3c2a9b8d7e4c1fa6b5e4d3c2b1a090\n", 0},
        {"0f3c2a9b8d7e4c1fa6b5e4d3c2b1a090", 0},
        {"", LF_EPARSE},
        {"\n", LF_EPARSE},
        {"uninitialized\n", LF_EPARSE},
        {"0F3C2A9B8D7E4C1FA6B5E4D3C2B1A090\n", LF_EPARSE},
        {"0f3c2a9b8d7e4c1fa6b5e4d3c2b1a09\n", LF_EPARSE},
        {"0f3c2a9b-8d7e-4c1f-a6b5-e4d3c2b1\n", LF_EPARSE},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(cases); i++) {
        struct lf_meta_builder b;
        struct lf_meta_set *set;

        lf_meta_builder_init(&b);
        LF_CHECK_INT_EQ(lf_host_meta_add_machine_id(&b, cases[i].text,
                                                    strlen(cases[i].text)),
                        cases[i].rc);
        set = lf_meta_builder_finish(&b);
        LF_CHECK_STR_EQ(value_of(set, "host.id", 0),
                        cases[i].rc == 0 ? "0f3c2a9b8d7e4c1fa6b5e4d3c2b1a090"
                                         : NULL);
        lf_meta_set_unref(set);
        lf_meta_builder_cleanup(&b);
    }
}

static void set_ipv4(struct sockaddr_in *sa, const char *text)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    inet_pton(AF_INET, text, &sa->sin_addr);
}

static void set_ipv6(struct sockaddr_in6 *sa, const char *text)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin6_family = AF_INET6;
    inet_pton(AF_INET6, text, &sa->sin6_addr);
}

static void set_mac(struct sockaddr_ll *sa, const unsigned char *mac,
                    unsigned char len)
{
    memset(sa, 0, sizeof(*sa));
    sa->sll_family = AF_PACKET;
    sa->sll_halen = len;
    memcpy(sa->sll_addr, mac, len);
}

static void test_host_meta_addresses_filtered(void)
{
    static const unsigned char eth0_mac[6] = {0x02, 0x42, 0xac, 0x11, 0x00,
                                              0x02};
    static const unsigned char zero_mac[6] = {0};
    static const unsigned char long_mac[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct sockaddr_in lo4, eth0_4, down4, eth1_4;
    struct sockaddr_in6 lo6, eth0_6, eth0_ll6;
    struct sockaddr_ll eth0_ll, eth0_ll_again, tun_ll, ib_ll;
    unsigned up = IFF_UP | IFF_RUNNING;
    struct ifaddrs nodes[] = {
        {.ifa_name = "lo", .ifa_flags = up | IFF_LOOPBACK,
         .ifa_addr = (struct sockaddr *)&lo4},
        {.ifa_name = "lo", .ifa_flags = up | IFF_LOOPBACK,
         .ifa_addr = (struct sockaddr *)&lo6},
        {.ifa_name = "eth0", .ifa_flags = up,
         .ifa_addr = (struct sockaddr *)&eth0_ll},
        {.ifa_name = "eth0", .ifa_flags = up,
         .ifa_addr = (struct sockaddr *)&eth0_4},
        {.ifa_name = "eth0", .ifa_flags = up,
         .ifa_addr = (struct sockaddr *)&eth0_6},
        {.ifa_name = "eth0", .ifa_flags = up,
         .ifa_addr = (struct sockaddr *)&eth0_ll6},
        {.ifa_name = "eth0:1", .ifa_flags = up,
         .ifa_addr = (struct sockaddr *)&eth0_ll_again},
        {.ifa_name = "eth2", .ifa_flags = 0,
         .ifa_addr = (struct sockaddr *)&down4},
        {.ifa_name = "tun0", .ifa_flags = up,
         .ifa_addr = (struct sockaddr *)&tun_ll},
        {.ifa_name = "ib0", .ifa_flags = up,
         .ifa_addr = (struct sockaddr *)&ib_ll},
        {.ifa_name = "eth1", .ifa_flags = up, .ifa_addr = NULL},
        {.ifa_name = "eth1", .ifa_flags = up,
         .ifa_addr = (struct sockaddr *)&eth1_4},
    };
    struct lf_meta_builder b;
    struct lf_meta_set *set;

    set_ipv4(&lo4, "127.0.0.1");
    set_ipv6(&lo6, "::1");
    set_ipv4(&eth0_4, "172.17.0.2");
    set_ipv6(&eth0_6, "2001:db8::2");
    set_ipv6(&eth0_ll6, "fe80::42:acff:fe11:2");
    set_ipv4(&down4, "192.0.2.9");
    set_ipv4(&eth1_4, "172.17.0.2");
    set_mac(&eth0_ll, eth0_mac, 6);
    set_mac(&eth0_ll_again, eth0_mac, 6);
    set_mac(&tun_ll, zero_mac, 6);
    set_mac(&ib_ll, long_mac, 8);
    for (size_t i = 0; i + 1 < LF_ARRAY_SIZE(nodes); i++) {
        nodes[i].ifa_next = &nodes[i + 1];
    }

    lf_meta_builder_init(&b);
    LF_CHECK_INT_EQ(lf_host_meta_add_addresses(&b, nodes), 0);
    set = lf_meta_builder_finish(&b);
    LF_CHECK_INT_EQ(lf_meta_set_count(set), 2);
    LF_CHECK_INT_EQ(value_count(set, "host.mac"), 1);
    LF_CHECK_STR_EQ(value_of(set, "host.mac", 0), "02-42-AC-11-00-02");
    LF_CHECK(lf_meta_set_get(set, "host.mac")->is_array);
    LF_CHECK_INT_EQ(value_count(set, "host.ip"), 3);
    LF_CHECK_STR_EQ(value_of(set, "host.ip", 0), "172.17.0.2");
    LF_CHECK_STR_EQ(value_of(set, "host.ip", 1), "2001:db8::2");
    LF_CHECK_STR_EQ(value_of(set, "host.ip", 2), "fe80::42:acff:fe11:2");
    LF_CHECK(lf_meta_set_get(set, "host.ip")->is_array);
    lf_meta_set_unref(set);
    lf_meta_builder_cleanup(&b);
}

static void test_host_meta_collect_fixture_root(void)
{
    struct lf_meta_set *set = NULL;
    struct utsname uts;
    char lower[sizeof(uts.nodename)];

    LF_CHECK_INT_EQ(uname(&uts), 0);
    for (size_t i = 0; i < sizeof(lower); i++) {
        lower[i] = (char)(uts.nodename[i] >= 'A' && uts.nodename[i] <= 'Z'
                              ? uts.nodename[i] - 'A' + 'a'
                              : uts.nodename[i]);
    }

    LF_CHECK_INT_EQ(lf_host_meta_collect(lf_test_fixture("host-metadata/"
                                                         "etc-root"),
                                         &set),
                    0);
    if (set == NULL) {
        return;
    }
    LF_CHECK_STR_EQ(value_of(set, "host.os.platform", 0), "amzn");
    LF_CHECK_STR_EQ(value_of(set, "host.os.name", 0), "Amazon Linux");
    LF_CHECK_STR_EQ(value_of(set, "host.os.version", 0), "2023");
    LF_CHECK_STR_EQ(value_of(set, "host.os.full", 0),
                    "Amazon Linux 2023.6.20241212");
    LF_CHECK_STR_EQ(value_of(set, "host.os.family", 0), "redhat");
    LF_CHECK_STR_EQ(value_of(set, "host.os.type", 0), "linux");
    LF_CHECK_STR_EQ(value_of(set, "host.id", 0),
                    "0f3c2a9b8d7e4c1fa6b5e4d3c2b1a090");
    LF_CHECK_STR_EQ(value_of(set, "host.hostname", 0), uts.nodename);
    LF_CHECK_STR_EQ(value_of(set, "host.name", 0), lower);
    LF_CHECK_STR_EQ(value_of(set, "host.architecture", 0), uts.machine);
    LF_CHECK_STR_EQ(value_of(set, "host.os.kernel", 0), uts.release);
    /* The addresses are the test machine's own, so only their absence
       from loopback can be checked exactly. */
    for (size_t i = 0; i < value_count(set, "host.ip"); i++) {
        LF_CHECK(strcmp(value_of(set, "host.ip", i), "127.0.0.1") != 0);
        LF_CHECK(strcmp(value_of(set, "host.ip", i), "::1") != 0);
    }
    lf_meta_set_unref(set);
}

static void test_host_meta_collect_without_files(void)
{
    struct lf_meta_set *set = NULL;

    LF_CHECK_INT_EQ(lf_host_meta_collect(lf_test_fixture("host-metadata/"
                                                         "none"),
                                         &set),
                    0);
    if (set == NULL) {
        return;
    }
    LF_CHECK(lf_meta_set_get(set, "host.id") == NULL);
    LF_CHECK(lf_meta_set_get(set, "host.os.name") == NULL);
    LF_CHECK(lf_meta_set_get(set, "host.os.family") == NULL);
    LF_CHECK_STR_EQ(value_of(set, "host.os.platform", 0), "linux");
    LF_CHECK_STR_EQ(value_of(set, "host.os.type", 0), "linux");
    lf_meta_set_unref(set);
}

struct source_fixture {
    uv_loop_t loop;
    uv_timer_t watchdog;
    bool ready;
    bool closed;
    bool expired;
};

static void on_source_ready(void *arg)
{
    struct source_fixture *fx = arg;

    fx->ready = true;
    uv_stop(&fx->loop);
}

static void on_source_closed(void *arg)
{
    struct source_fixture *fx = arg;

    fx->closed = true;
    uv_stop(&fx->loop);
}

static void on_watchdog(uv_timer_t *timer)
{
    struct source_fixture *fx = timer->data;

    fx->expired = true;
}

/* Runs the loop until `*flag` is true or `limit_ms` pass. */
static void run_until(struct source_fixture *fx, const bool *flag,
                      uint64_t limit_ms)
{
    fx->expired = false;
    uv_timer_start(&fx->watchdog, on_watchdog, limit_ms, 0);
    while ((flag == NULL || !*flag) && !fx->expired) {
        uv_run(&fx->loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&fx->watchdog);
}

static void test_host_meta_source_refreshes(void)
{
    struct source_fixture fx = {0};
    struct lf_meta_source *src = NULL;
    struct lf_meta_set *first;
    struct lf_meta_set *later;

    uv_loop_init(&fx.loop);
    uv_timer_init(&fx.loop, &fx.watchdog);
    fx.watchdog.data = &fx;
    LF_CHECK_INT_EQ(lf_host_meta_source_new(&fx.loop,
                                            lf_test_fixture("host-metadata/"
                                                            "etc-root"),
                                            20, &src),
                    0);
    if (src == NULL) {
        return;
    }
    LF_CHECK(lf_meta_source_acquire(src) == NULL);
    LF_CHECK_INT_EQ(lf_meta_source_start(src, on_source_ready, &fx), 0);
    run_until(&fx, &fx.ready, 20000);
    LF_CHECK(fx.ready);

    first = lf_meta_source_acquire(src);
    LF_CHECK_STR_EQ(first != NULL ? value_of(first, "host.id", 0) : NULL,
                    "0f3c2a9b8d7e4c1fa6b5e4d3c2b1a090");
    run_until(&fx, NULL, 300);
    later = lf_meta_source_acquire(src);
    LF_CHECK(later != NULL);
    LF_CHECK(later != first);
    LF_CHECK_STR_EQ(later != NULL ? value_of(later, "host.os.family", 0)
                                  : NULL,
                    "redhat");
    lf_meta_set_unref(first);
    lf_meta_set_unref(later);

    lf_meta_source_close(src, on_source_closed, &fx);
    run_until(&fx, &fx.closed, 20000);
    LF_CHECK(fx.closed);
    uv_close((uv_handle_t *)&fx.watchdog, NULL);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    LF_CHECK_INT_EQ(uv_loop_close(&fx.loop), 0);
}

int main(void)
{
    LF_RUN(test_os_release_parse_quoting);
    LF_RUN(test_os_release_parse_skips_malformed);
    LF_RUN(test_os_release_family_table);
    LF_RUN(test_os_release_read_prefers_etc);
    LF_RUN(test_os_release_read_usr_lib_fallback);
    LF_RUN(test_host_meta_uname_fields);
    LF_RUN(test_host_meta_os_release_wins_platform);
    LF_RUN(test_host_meta_machine_id_validation);
    LF_RUN(test_host_meta_addresses_filtered);
    LF_RUN(test_host_meta_collect_fixture_root);
    LF_RUN(test_host_meta_collect_without_files);
    LF_RUN(test_host_meta_source_refreshes);
    return lf_test_end();
}
