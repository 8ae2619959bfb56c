/*
 * credential_process runs. The process handle is closed only after the
 * child has exited, so that libuv reaps it, also when the run timed out
 * or was cancelled.
 */
#include "outputs/cloudwatch/aws_process.h"
#include "lf/buf.h"
#include "lf/error.h"
#include "lf/mem.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct lf_aws_process {
    uv_process_t process;
    uv_pipe_t out_pipe;
    uv_pipe_t err_pipe;
    uv_timer_t timer;
    struct lf_buf out;
    struct lf_buf err;
    lf_aws_process_cb cb; /* NULL once cancelled */
    void *arg;
    unsigned open_handles; /* not closed yet; the struct is freed at 0 */
    bool exited;
    bool out_eof;
    bool err_eof;
    bool done; /* the callback ran or the run was cancelled */
    bool too_big;
    int64_t exit_status;
    int term_signal;
    char chunk[4096];
};

/* ---- Splitting ---- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void lf_aws_process_argv_free(char **argv)
{
    if (argv == NULL) {
        return;
    }
    for (char **a = argv; *a != NULL; a++) {
        lf_free(*a);
    }
    lf_free(argv);
}

static void push_word(char ***argv, size_t *count, struct lf_buf *word)
{
    *argv = lf_realloc(*argv, (*count + 2) * sizeof(**argv));
    (*argv)[(*count)++] =
        lf_strndup(word->data != NULL ? word->data : "", word->len);
    (*argv)[*count] = NULL;
    lf_buf_reset(word);
}

char **lf_aws_process_split(const char *command, char *errbuf, size_t errlen)
{
    char **argv = NULL;
    size_t count = 0;
    struct lf_buf word;
    bool in_word = false;
    const char *c = command;

    lf_buf_init(&word);
    while (*c != '\0') {
        if (is_blank(*c)) {
            if (in_word) {
                push_word(&argv, &count, &word);
                in_word = false;
            }
            c++;
            continue;
        }
        in_word = true;
        if (*c == '\\') {
            if (c[1] == '\0') {
                snprintf(errbuf, errlen,
                         "credential_process ends with a backslash; "
                         "remove it or escape it as \\\\");
                goto fail;
            }
            lf_buf_append_char(&word, c[1]);
            c += 2;
        } else if (*c == '\'') {
            const char *close = strchr(c + 1, '\'');

            if (close == NULL) {
                goto unclosed;
            }
            lf_buf_append(&word, c + 1, (size_t)(close - c - 1));
            c = close + 1;
        } else if (*c == '"') {
            for (c++; *c != '"'; c++) {
                if (*c == '\0') {
                    goto unclosed;
                }
                if (*c == '\\' && (c[1] == '"' || c[1] == '\\')) {
                    c++;
                }
                lf_buf_append_char(&word, *c);
            }
            c++;
        } else {
            lf_buf_append_char(&word, *c);
            c++;
        }
    }
    if (in_word) {
        push_word(&argv, &count, &word);
    }
    lf_buf_cleanup(&word);
    if (count == 0) {
        snprintf(errbuf, errlen,
                 "credential_process is empty; give the "
                 "command to run");
        return NULL;
    }
    return argv;

unclosed:
    snprintf(errbuf, errlen,
             "credential_process has a quote without its closing quote; "
             "close it");
fail:
    lf_buf_cleanup(&word);
    lf_aws_process_argv_free(argv);
    return NULL;
}

/* ---- Running ---- */

static void wipe_buf(struct lf_buf *buf)
{
    if (buf->data != NULL) {
        explicit_bzero(buf->data, buf->cap);
    }
    lf_buf_cleanup(buf);
}

static void on_closed(uv_handle_t *handle)
{
    struct lf_aws_process *proc = handle->data;

    if (--proc->open_handles > 0) {
        return;
    }
    wipe_buf(&proc->out);
    wipe_buf(&proc->err);
    explicit_bzero(proc->chunk, sizeof(proc->chunk));
    lf_free(proc);
}

static void close_handle(uv_handle_t *handle)
{
    if (!uv_is_closing(handle)) {
        uv_close(handle, on_closed);
    }
}

/* Closes what can be closed now; the process handle waits for the exit. */
static void close_handles(struct lf_aws_process *proc)
{
    close_handle((uv_handle_t *)&proc->timer);
    close_handle((uv_handle_t *)&proc->out_pipe);
    close_handle((uv_handle_t *)&proc->err_pipe);
    if (proc->exited) {
        close_handle((uv_handle_t *)&proc->process);
    }
}

static void kill_child(struct lf_aws_process *proc)
{
    if (!proc->exited) {
        uv_process_kill(&proc->process, SIGKILL);
    }
}

static void finish(struct lf_aws_process *proc, int error)
{
    struct lf_aws_process_result result = {
        .error = error,
        .exit_status = proc->exit_status,
        .term_signal = proc->term_signal,
        .out = proc->out.data != NULL ? proc->out.data : "",
        .out_len = proc->out.len,
        .err = proc->err.data != NULL ? proc->err.data : "",
        .err_len = proc->err.len,
    };

    proc->done = true;
    kill_child(proc);
    if (proc->cb != NULL) {
        proc->cb(proc->arg, &result);
    }
    close_handles(proc);
}

static void maybe_finish(struct lf_aws_process *proc)
{
    if (proc->done) {
        return;
    }
    if (proc->too_big) {
        finish(proc, LF_ETOOBIG);
    } else if (proc->exited && proc->out_eof && proc->err_eof) {
        bool ok = proc->exit_status == 0 && proc->term_signal == 0;

        finish(proc, ok ? 0 : LF_EIO);
    }
}

static void on_exit(uv_process_t *handle, int64_t exit_status, int term_signal)
{
    struct lf_aws_process *proc = handle->data;

    proc->exited = true;
    proc->exit_status = exit_status;
    proc->term_signal = term_signal;
    if (proc->done) {
        close_handle((uv_handle_t *)&proc->process);
        return;
    }
    maybe_finish(proc);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct lf_aws_process *proc = handle->data;

    (void)suggested;
    buf->base = proc->chunk;
    buf->len = sizeof(proc->chunk);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct lf_aws_process *proc = stream->data;
    bool is_out = stream == (uv_stream_t *)&proc->out_pipe;

    if (nread < 0) {
        uv_read_stop(stream);
        if (is_out) {
            proc->out_eof = true;
        } else {
            proc->err_eof = true;
        }
        maybe_finish(proc);
        return;
    }
    if (is_out) {
        if (proc->out.len + (size_t)nread > LF_AWS_PROCESS_MAX_STDOUT) {
            proc->too_big = true;
        } else {
            lf_buf_append(&proc->out, buf->base, (size_t)nread);
        }
    } else if (proc->err.len < LF_AWS_PROCESS_MAX_STDERR) {
        size_t room = LF_AWS_PROCESS_MAX_STDERR - proc->err.len;

        lf_buf_append(&proc->err, buf->base,
                      (size_t)nread < room ? (size_t)nread : room);
    }
    maybe_finish(proc);
}

static void on_timeout(uv_timer_t *timer)
{
    struct lf_aws_process *proc = timer->data;

    finish(proc, LF_ETIMEDOUT);
}

struct lf_aws_process *lf_aws_process_start(uv_loop_t *loop, char **argv,
                                            uint64_t timeout_ms,
                                            lf_aws_process_cb cb, void *arg,
                                            char *errbuf, size_t errlen)
{
    struct lf_aws_process *proc = lf_calloc(1, sizeof(*proc));
    uv_process_options_t options;
    uv_stdio_container_t stdio[3];
    int rc;

    proc->cb = cb;
    proc->arg = arg;
    lf_buf_init(&proc->out);
    lf_buf_init(&proc->err);
    uv_pipe_init(loop, &proc->out_pipe, 0);
    uv_pipe_init(loop, &proc->err_pipe, 0);
    uv_timer_init(loop, &proc->timer);
    proc->process.data = proc;
    proc->out_pipe.data = proc;
    proc->err_pipe.data = proc;
    proc->timer.data = proc;
    proc->open_handles = 4;

    memset(&options, 0, sizeof(options));
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&proc->out_pipe;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&proc->err_pipe;
    options.file = argv[0];
    options.args = argv;
    options.exit_cb = on_exit;
    options.stdio = stdio;
    options.stdio_count = 3;
    rc = uv_spawn(loop, &proc->process, &options);
    if (rc != 0) {
        snprintf(errbuf, errlen, "starting '%s' failed: %s", argv[0],
                 uv_strerror(rc));
        /* The handle is initialised even when uv_spawn fails, and there
         * is no child to wait for. */
        proc->exited = true;
        proc->done = true;
        close_handles(proc);
        return NULL;
    }
    uv_read_start((uv_stream_t *)&proc->out_pipe, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&proc->err_pipe, on_alloc, on_read);
    uv_timer_start(&proc->timer, on_timeout, timeout_ms, 0);
    return proc;
}

void lf_aws_process_cancel(struct lf_aws_process *proc)
{
    if (proc == NULL || proc->done) {
        return;
    }
    proc->cb = NULL;
    proc->done = true;
    kill_child(proc);
    close_handles(proc);
}
