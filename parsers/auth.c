/*
 * The message part of the `auth` preset: sshd logins, sudo commands, PAM
 * sessions and new users and groups, read after the syslog header. Field names
 * follow ECS and, for what ECS has no field for, Filebeat's `system.auth.*`
 * namespace.
 */
#include "parsers/auth.h"

#include "lf/mem.h"
#include "parsers/number.h"

#include <stdint.h>
#include <string.h>

struct cursor {
    const char *p;
    const char *end;
};

struct span {
    const char *ptr;
    size_t len;
};

static bool span_is(struct span s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

static void set_span(struct lf_event *ev, const char *key, struct span s)
{
    if (s.len > 0) {
        lf_event_set_str(ev, key, s.ptr, s.len);
    }
}

static bool starts_with(const struct cursor *c, const char *text)
{
    size_t len = strlen(text);

    return (size_t)(c->end - c->p) >= len && memcmp(c->p, text, len) == 0;
}

/* Consumes `text` when the input continues with it. */
static bool skip(struct cursor *c, const char *text)
{
    if (!starts_with(c, text)) {
        return false;
    }
    c->p += strlen(text);
    return true;
}

/* Reads the bytes up to the next space or the end, and fails on none. */
static bool read_word(struct cursor *c, struct span *out)
{
    const char *start = c->p;

    while (c->p < c->end && *c->p != ' ') {
        c->p++;
    }
    *out = (struct span){start, (size_t)(c->p - start)};
    return out->len > 0;
}

/* Reads up to `stop` (excluded) or the end. */
static struct span read_until(struct cursor *c, char stop)
{
    const char *start = c->p;
    const char *found = memchr(c->p, stop, (size_t)(c->end - c->p));

    c->p = found != NULL ? found : c->end;
    return (struct span){start, (size_t)(c->p - start)};
}

/* Reads up to the text `stop` (excluded) or the end. */
static struct span read_until_text(struct cursor *c, const char *stop)
{
    const char *start = c->p;
    const char *found =
        memmem(c->p, (size_t)(c->end - c->p), stop, strlen(stop));

    c->p = found != NULL ? found : c->end;
    return (struct span){start, (size_t)(c->p - start)};
}

/* Sets `source.port` when `port` is a number from 0 to 65535. */
static void set_port(struct lf_event *ev, struct span port)
{
    int64_t value;

    if (lf_number_parse_int(port.ptr, port.len, &value) == 0 && value >= 0 &&
        value <= UINT16_MAX) {
        lf_event_set_int(ev, "source.port", value);
    }
}

/* Reads "from IP[ port N]" and stores the address in `ip_out`. */
static bool read_source(struct cursor *c, struct lf_event *ev,
                        struct span *ip_out)
{
    struct span port;

    if (!skip(c, "from ") || !read_word(c, ip_out)) {
        return false;
    }
    lf_event_set_str(ev, "source.ip", ip_out->ptr, ip_out->len);
    if (skip(c, " port ") && read_word(c, &port)) {
        set_port(ev, port);
    }
    return true;
}

/*
 * "Accepted publickey for USER from IP port N ssh2: RSA SHA256:..." and
 * "Failed password for [invalid user ]USER from IP port N ssh2".
 */
static bool read_ssh_login(struct cursor *c, struct lf_event *ev)
{
    struct cursor start = *c;
    struct span event;
    struct span method;
    struct span user;
    struct span ip;

    if (!read_word(c, &event) ||
        (!span_is(event, "Accepted") && !span_is(event, "Failed")) ||
        !skip(c, " ") || !read_word(c, &method) || !skip(c, " for ")) {
        *c = start;
        return false;
    }
    skip(c, "invalid user ");
    if (!read_word(c, &user) || !skip(c, " ")) {
        *c = start;
        return false;
    }
    lf_event_set_str(ev, "user.name", user.ptr, user.len);
    read_source(c, ev, &ip);
    if (skip(c, " ssh2: ")) {
        set_span(ev, "system.auth.ssh.signature",
                 (struct span){c->p, (size_t)(c->end - c->p)});
    }
    lf_event_set_str(ev, "event.action", "ssh_login", LF_STRLEN("ssh_login"));
    if (span_is(event, "Accepted")) {
        lf_event_set_str(ev, "event.outcome", "success", LF_STRLEN("success"));
    } else {
        lf_event_set_str(ev, "event.outcome", "failure", LF_STRLEN("failure"));
    }
    set_span(ev, "system.auth.ssh.event", event);
    set_span(ev, "system.auth.ssh.method", method);
    return true;
}

static bool read_sshd(struct cursor *c, struct lf_event *ev)
{
    struct span user;
    struct span ip;

    if (read_ssh_login(c, ev)) {
        return true;
    }
    if (skip(c, "Invalid user ")) {
        if (!read_word(c, &user) || !skip(c, " ")) {
            return false;
        }
        lf_event_set_str(ev, "user.name", user.ptr, user.len);
        read_source(c, ev, &ip);
        lf_event_set_str(ev, "event.action", "ssh_login",
                         LF_STRLEN("ssh_login"));
        lf_event_set_str(ev, "event.outcome", "failure", LF_STRLEN("failure"));
        lf_event_set_str(ev, "system.auth.ssh.event", "Invalid",
                         LF_STRLEN("Invalid"));
        return true;
    }
    if (skip(c, "Did not receive identification string ")) {
        if (!read_source(c, ev, &ip)) {
            return false;
        }
        set_span(ev, "system.auth.ssh.dropped_ip", ip);
        return true;
    }
    if (skip(c, "subsystem request for ")) {
        struct span subsystem;

        if (!read_word(c, &subsystem) || !skip(c, " by user ") ||
            !read_word(c, &user)) {
            return false;
        }
        lf_event_set_str(ev, "user.name", user.ptr, user.len);
        return true;
    }
    return false;
}

/* Reads one "KEY=value" of a sudo line, up to " ; " or the end. */
static bool read_sudo_item(struct cursor *c, struct lf_event *ev)
{
    static const struct {
        const char *prefix;
        const char *key;
        const char *ecs_key; /* also set to the value, or NULL */
        bool to_end;         /* the command is last and may contain " ; " */
    } items[] = {
        {"TTY=", "system.auth.sudo.tty", NULL, false},
        {"PWD=", "system.auth.sudo.pwd", NULL, false},
        {"USER=", "system.auth.sudo.user", "user.effective.name", false},
        {"COMMAND=", "system.auth.sudo.command", NULL, true},
    };

    for (size_t i = 0; i < LF_ARRAY_SIZE(items); i++) {
        struct span value;

        if (!skip(c, items[i].prefix)) {
            continue;
        }
        if (items[i].to_end) {
            value = (struct span){c->p, (size_t)(c->end - c->p)};
            c->p = c->end;
        } else {
            value = read_until_text(c, " ; ");
        }
        set_span(ev, items[i].key, value);
        if (items[i].ecs_key != NULL) {
            set_span(ev, items[i].ecs_key, value);
        }
        return true;
    }
    return false;
}

/* "USER : [ERROR ; ]TTY=pts/0 ; PWD=/home ; USER=root ; COMMAND=/bin/ls" */
static bool read_sudo(struct cursor *c, struct lf_event *ev)
{
    struct span user;
    struct span error;

    while (c->p < c->end && *c->p == ' ') {
        c->p++;
    }
    /* "(command continued)" lines and others without TTY= are not read. */
    if (!read_word(c, &user) || !skip(c, " : ") ||
        memmem(c->p, (size_t)(c->end - c->p), "TTY=", LF_STRLEN("TTY=")) ==
            NULL) {
        return false;
    }
    lf_event_set_str(ev, "user.name", user.ptr, user.len);
    if (!starts_with(c, "TTY=")) {
        error = read_until_text(c, " ; ");
        set_span(ev, "system.auth.sudo.error", error);
        skip(c, " ; ");
    }
    while (read_sudo_item(c, ev)) {
        if (!skip(c, " ; ")) {
            break;
        }
    }
    return true;
}

/*
 * "pam_unix(sudo:session): session opened for user root by alice(uid=0)"
 * and "... session closed for user root".
 */
static bool read_pam_session(struct cursor *c, struct lf_event *ev)
{
    struct span target;
    struct span user;
    struct span uid;

    if (!skip(c, "pam_unix(")) {
        return false;
    }
    read_until(c, ')');
    if (skip(c, "): session closed for user ") && read_word(c, &target)) {
        lf_event_set_str(ev, "user.name", target.ptr, target.len);
        return true;
    }
    if (!skip(c, "): session opened for user ") || !read_word(c, &target)) {
        return false;
    }
    lf_event_set_str(ev, "user.effective.name", target.ptr, target.len);
    if (skip(c, " by ")) {
        user = read_until(c, '(');
        set_span(ev, "user.name", user);
        if (skip(c, "(uid=")) {
            uid = read_until(c, ')');
            set_span(ev, "user.id", uid);
        }
    }
    return true;
}

/*
 * Reads the ", "-separated "key=value" list of useradd and groupadd:
 * "new user: name=apache, UID=48, GID=48, home=/srv, shell=/sbin/nologin"
 * or "new group: name=apache, GID=48".
 */
static bool read_new_account(struct cursor *c, struct lf_event *ev, bool user)
{
    static const struct {
        const char *prefix;
        const char *user_key;
        const char *group_key;
    } items[] = {
        {"name=", "user.name", "group.name"},
        {"UID=", "user.id", NULL},
        {"GID=", "group.id", "group.id"},
        {"home=", "system.auth.useradd.home", NULL},
        {"shell=", "system.auth.useradd.shell", NULL},
    };

    if (!skip(c, user ? "new user: " : "new group: ")) {
        return false;
    }
    while (c->p < c->end) {
        struct span value;
        const char *key = NULL;

        for (size_t i = 0; i < LF_ARRAY_SIZE(items) && key == NULL; i++) {
            if (skip(c, items[i].prefix)) {
                key = user ? items[i].user_key : items[i].group_key;
            }
        }
        value = read_until(c, ',');
        if (key != NULL) {
            set_span(ev, key, value);
        }
        if (!skip(c, ", ")) {
            break;
        }
    }
    return true;
}

bool lf_auth_apply(struct lf_event *ev, const char *program, size_t program_len,
                   const char *msg, size_t msg_len)
{
    struct span name = {program, program_len};
    struct cursor c = {msg, msg + msg_len};

    if (read_pam_session(&c, ev)) {
        return true;
    }
    c.p = msg;
    if (span_is(name, "sshd")) {
        return read_sshd(&c, ev);
    }
    if (span_is(name, "sudo")) {
        return read_sudo(&c, ev);
    }
    if (span_is(name, "useradd")) {
        return read_new_account(&c, ev, true);
    }
    if (span_is(name, "groupadd")) {
        return read_new_account(&c, ev, false);
    }
    return false;
}
