/*
 * File identity for harvesters and the registry. The hash is FNV-1a over
 * the identifying values and the head bytes. It only has to tell apart the
 * files one host keeps in its registry, so it need not resist an attacker.
 */
#include "agent/input/file_id.h"
#include "lf/error.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FNV_OFFSET_BASIS UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

static void fill(const struct statx *stx, struct lf_file_stat *out)
{
    out->dev = ((uint64_t)stx->stx_dev_major << 32) | stx->stx_dev_minor;
    out->ino = stx->stx_ino;
    out->size = stx->stx_size;
    out->nlink = stx->stx_nlink;
    out->is_regular = S_ISREG(stx->stx_mode);
    out->btime_ns = 0;
    if (stx->stx_mask & STATX_BTIME) {
        out->btime_ns = (int64_t)stx->stx_btime.tv_sec * 1000000000 +
                        stx->stx_btime.tv_nsec;
    }
}

static int do_statx(int dirfd, const char *path, int flags,
                    struct lf_file_stat *out)
{
    struct statx stx;
    unsigned mask = STATX_BASIC_STATS | STATX_BTIME;

    if (statx(dirfd, path, flags, mask, &stx) != 0) {
        return -errno;
    }
    fill(&stx, out);
    return 0;
}

int lf_file_fstat(int fd, struct lf_file_stat *out)
{
    return do_statx(fd, "", AT_EMPTY_PATH, out);
}

int lf_file_stat_path(const char *path, struct lf_file_stat *out)
{
    return do_statx(AT_FDCWD, path, 0, out);
}

int lf_file_read_head(int fd, char *buf, size_t *len_out)
{
    size_t len = 0;
    const char *newline;

    while (len < LF_FILE_HEAD_MAX) {
        ssize_t n = pread(fd, buf + len, LF_FILE_HEAD_MAX - len, (off_t)len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }

    newline = memchr(buf, '\n', len);
    if (newline != NULL) {
        *len_out = (size_t)(newline - buf) + 1;
        return 0;
    }
    if (len == LF_FILE_HEAD_MAX) {
        *len_out = len;
        return 0;
    }
    return LF_EAGAIN;
}

static uint64_t fnv1a(uint64_t hash, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        hash ^= p[i];
        hash *= FNV_PRIME;
    }
    return hash;
}

uint64_t lf_file_id(const struct lf_file_stat *st, const char *head,
                    size_t head_len)
{
    uint64_t hash = FNV_OFFSET_BASIS;

    hash = fnv1a(hash, &st->dev, sizeof(st->dev));
    hash = fnv1a(hash, &st->ino, sizeof(st->ino));
    hash = fnv1a(hash, &st->btime_ns, sizeof(st->btime_ns));
    hash = fnv1a(hash, head, head_len);
    return hash;
}

uint64_t lf_file_head_hash(const char *head, size_t head_len)
{
    return fnv1a(FNV_OFFSET_BASIS, head, head_len);
}

uint64_t lf_file_id_generation(uint64_t base_id, uint32_t generation)
{
    if (generation == 0) {
        return base_id;
    }
    return fnv1a(fnv1a(FNV_OFFSET_BASIS, &base_id, sizeof(base_id)),
                 &generation, sizeof(generation));
}

int lf_file_head_hash_path(const char *path, uint64_t dev, uint64_t ino,
                           uint64_t *hash_out)
{
    char head[LF_FILE_HEAD_MAX];
    struct lf_file_stat st;
    size_t head_len;
    int fd;
    int rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return -errno;
    }
    rc = lf_file_fstat(fd, &st);
    if (rc == 0 && (st.dev != dev || st.ino != ino)) {
        rc = LF_ENOENT;
    }
    if (rc == 0) {
        rc = lf_file_read_head(fd, head, &head_len);
    }
    if (rc == 0) {
        *hash_out = lf_file_head_hash(head, head_len);
    }
    close(fd);
    return rc;
}
