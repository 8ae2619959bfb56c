/*
 * Error codes shared by every module. Fallible functions return 0 (or a
 * count) on success and a negative LF_E* code on failure. Codes that mirror
 * an errno value are that value negated, so `-errno` converts at a syscall.
 */
#ifndef LF_LF_ERROR_H
#define LF_LF_ERROR_H

#include <errno.h>

/* XX(name, code, message) */
#define LF_ERRNO_MAP(XX)                                                      \
    XX(NOMEM, -ENOMEM, "out of memory")                                       \
    XX(INVAL, -EINVAL, "invalid argument")                                    \
    XX(NOENT, -ENOENT, "no such file or directory")                           \
    XX(ACCES, -EACCES, "permission denied")                                   \
    XX(PERM, -EPERM, "operation not permitted")                               \
    XX(EXIST, -EEXIST, "file exists")                                         \
    XX(ISDIR, -EISDIR, "is a directory")                                      \
    XX(NOTDIR, -ENOTDIR, "not a directory")                                   \
    XX(NOSPC, -ENOSPC, "no space left on device")                             \
    XX(MFILE, -EMFILE, "too many open files")                                 \
    XX(IO, -EIO, "i/o error")                                                 \
    XX(FBIG, -EFBIG, "file too large")                                        \
    XX(AGAIN, -EAGAIN, "resource temporarily unavailable")                    \
    XX(INTR, -EINTR, "interrupted system call")                               \
    XX(NAMETOOLONG, -ENAMETOOLONG, "name too long")                           \
    XX(RANGE, -ERANGE, "result out of range")                                 \
    XX(CONNREFUSED, -ECONNREFUSED, "connection refused")                      \
    XX(TIMEDOUT, -ETIMEDOUT, "timed out")                                     \
    XX(CANCELED, -ECANCELED, "operation canceled")                            \
    XX(CONFIG, -4001, "invalid configuration")                                \
    XX(PARSE, -4002, "parse error")                                           \
    XX(NOMATCH, -4003, "no match")                                            \
    XX(TOOBIG, -4004, "value too large")                                      \
    XX(PROTO, -4005, "protocol error")                                        \
    XX(HTTP, -4006, "http transfer failed")                                   \
    XX(RESOLVE, -4007, "could not resolve host")                              \
    XX(TLS, -4008, "tls handshake or certificate failed")                     \
    XX(FULL, -4009, "queue full")                                             \
    XX(CORRUPT, -4010, "data corrupted")                                      \
    XX(STATE, -4011, "invalid state")

enum lf_error {
#define LF_ERROR_GEN(name, code, msg) LF_E##name = (code),
    LF_ERRNO_MAP(LF_ERROR_GEN)
#undef LF_ERROR_GEN
};

/*
 * Returns a static, lower-case description of `code`. Negative errno values
 * that are not in the table fall back to the C library's text.
 */
const char *lf_strerror(int code);

/* Returns the symbolic name of `code` ("ENOENT", "ECONFIG"), or "EUNKNOWN". */
const char *lf_err_name(int code);

#endif
