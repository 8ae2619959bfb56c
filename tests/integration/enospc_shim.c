/*
 * LD_PRELOAD test shim that makes one folder behave like a full file
 * system, for machines where a test cannot mount a small tmpfs. Writes
 * to files in $LF_ENOSPC_DIR fail with ENOSPC once they would make the
 * regular files of that folder hold more than $LF_ENOSPC_BYTES bytes in
 * all. Only writes that grow a file count; rewriting bytes in place is
 * allowed, as on a real file system. Other files are not affected.
 */
/* Both the plain and the 64-bit names are defined below. */
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int fd, const void *buf, size_t len);
typedef ssize_t (*pwrite_fn)(int fd, const void *buf, size_t len,
                             off_t offset);
typedef ssize_t (*pwritev_fn)(int fd, const struct iovec *iov, int count,
                              off_t offset);
typedef ssize_t (*pwrite64_fn)(int fd, const void *buf, size_t len,
                               off64_t offset);
typedef ssize_t (*pwritev64_fn)(int fd, const struct iovec *iov, int count,
                                off64_t offset);

/* Returns true when `fd` is a regular file directly in the folder. */
static int in_full_dir(int fd, const char *dir)
{
    char link[64];
    char path[PATH_MAX];
    size_t dir_len = strlen(dir);
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0) {
        return 0;
    }
    path[n] = '\0';
    return strncmp(path, dir, dir_len) == 0 && path[dir_len] == '/' &&
           strchr(path + dir_len + 1, '/') == NULL;
}

/* Returns the total size of the regular files in `dir`. */
static unsigned long long dir_usage(const char *dir)
{
    unsigned long long total = 0;
    char path[PATH_MAX];
    struct dirent *entry;
    struct stat st;
    DIR *d = opendir(dir);

    if (d == NULL) {
        return 0;
    }
    while ((entry = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            total += (unsigned long long)st.st_size;
        }
    }
    closedir(d);
    return total;
}

/*
 * Returns -1 with errno ENOSPC when writing `len` bytes at `offset` (or
 * at the file offset when `offset` is negative) would pass the limit,
 * else 0.
 */
static int check_room(int fd, size_t len, off64_t offset)
{
    const char *dir = getenv("LF_ENOSPC_DIR");
    const char *limit_text = getenv("LF_ENOSPC_BYTES");
    unsigned long long limit;
    unsigned long long end;
    struct stat st;

    if (dir == NULL || limit_text == NULL || len == 0 ||
        !in_full_dir(fd, dir) || fstat(fd, &st) != 0) {
        return 0;
    }
    limit = strtoull(limit_text, NULL, 10);
    if (offset < 0) {
        offset = lseek(fd, 0, SEEK_CUR);
        if (offset < 0) {
            return 0;
        }
    }
    end = (unsigned long long)offset + len;
    if (end <= (unsigned long long)st.st_size) {
        return 0;
    }
    if (dir_usage(dir) + (end - (unsigned long long)st.st_size) > limit) {
        errno = ENOSPC;
        return -1;
    }
    return 0;
}

ssize_t write(int fd, const void *buf, size_t len)
{
    write_fn real = (write_fn)(uintptr_t)dlsym(RTLD_NEXT, "write");

    if (check_room(fd, len, -1) != 0) {
        return -1;
    }
    return real(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t offset)
{
    pwrite_fn real = (pwrite_fn)(uintptr_t)dlsym(RTLD_NEXT, "pwrite");

    if (check_room(fd, len, offset) != 0) {
        return -1;
    }
    return real(fd, buf, len, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t offset)
{
    pwrite64_fn real = (pwrite64_fn)(uintptr_t)dlsym(RTLD_NEXT, "pwrite64");

    if (check_room(fd, len, offset) != 0) {
        return -1;
    }
    return real(fd, buf, len, offset);
}

static size_t iov_bytes(const struct iovec *iov, int count)
{
    size_t len = 0;

    for (int i = 0; i < count; i++) {
        len += iov[i].iov_len;
    }
    return len;
}

ssize_t pwritev(int fd, const struct iovec *iov, int count, off_t offset)
{
    pwritev_fn real = (pwritev_fn)(uintptr_t)dlsym(RTLD_NEXT, "pwritev");

    if (check_room(fd, iov_bytes(iov, count), offset) != 0) {
        return -1;
    }
    return real(fd, iov, count, offset);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int count,
                  off64_t offset)
{
    pwritev64_fn real =
        (pwritev64_fn)(uintptr_t)dlsym(RTLD_NEXT, "pwritev64");

    if (check_room(fd, iov_bytes(iov, count), offset) != 0) {
        return -1;
    }
    return real(fd, iov, count, offset);
}
