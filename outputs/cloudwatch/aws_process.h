/*
 * credential_process of the AWS shared config file. The command line is
 * split into words as botocore 1.43 splits it (shlex.split, POSIX rules,
 * no shell). The command runs on the agent's loop under a time limit,
 * and its standard output and standard error are read into memory.
 */
#ifndef LF_OUTPUTS_CLOUDWATCH_AWS_PROCESS_H
#define LF_OUTPUTS_CLOUDWATCH_AWS_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* Maximum standard output kept. A longer output fails the run. */
#define LF_AWS_PROCESS_MAX_STDOUT 65536

/* Maximum standard error kept for the log. The rest is read and dropped. */
#define LF_AWS_PROCESS_MAX_STDERR 1024

/* Outcome of a run, passed to the callback. */
struct lf_aws_process_result {
    /* 0 when the command exited with status 0, LF_EIO when it exited
     * with another status or a signal, LF_ETIMEDOUT when it was killed at
     * the time limit, LF_ETOOBIG when its standard output was too long. */
    int error;
    int64_t exit_status;
    int term_signal;
    const char *out; /* standard output, NUL-ended */
    size_t out_len;
    const char *err; /* the start of standard error, NUL-ended */
    size_t err_len;
};

typedef void (*lf_aws_process_cb)(void *arg,
                                  const struct lf_aws_process_result *result);

struct lf_aws_process;

/*
 * Splits `command` into words as a POSIX shell does without expansions:
 * blanks separate words, '...' is literal, "..." keeps a backslash only
 * before '"' or '\', and a backslash outside quotes escapes the next
 * character. Returns a NULL-ended array that lf_aws_process_argv_free()
 * frees, or NULL with the reason in `errbuf` for an unclosed quote, a
 * trailing backslash or an empty command.
 */
char **lf_aws_process_split(const char *command, char *errbuf, size_t errlen);

void lf_aws_process_argv_free(char **argv);

/*
 * Runs `argv[0]` (looked up in PATH when it has no '/') with `argv`, the
 * agent's environment and standard input from /dev/null. Calls `cb` once
 * on the loop when the command has exited and its output is read, or
 * after `timeout_ms`, when it is killed with SIGKILL. Returns the run, or
 * NULL with the reason in `errbuf` when the command cannot be started.
 */
struct lf_aws_process *lf_aws_process_start(uv_loop_t *loop, char **argv,
                                            uint64_t timeout_ms,
                                            lf_aws_process_cb cb, void *arg,
                                            char *errbuf, size_t errlen);

/* Kills a run that has not called its callback yet; the callback is not
 * called. The memory is freed once libuv has closed the handles. */
void lf_aws_process_cancel(struct lf_aws_process *proc);

#endif
