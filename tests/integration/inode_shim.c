/*
 * LD_PRELOAD test shim that rewrites inode numbers reported by statx(2),
 * so a test can make a new file look like it reuses a removed file's inode
 * when the file system does not hand the freed inode out again. The file
 * named by $LF_INODE_MAP_FILE contains lines "FROM TO": a statx result with
 * inode FROM is reported with inode TO. The file is read on every call.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

typedef int (*statx_fn)(int dirfd, const char *path, int flags,
                        unsigned int mask, struct statx *buf);

static void map_inode(struct statx *buf)
{
    const char *name = getenv("LF_INODE_MAP_FILE");
    unsigned long long from;
    unsigned long long to;
    FILE *map;

    if (name == NULL || (map = fopen(name, "re")) == NULL) {
        return;
    }
    while (fscanf(map, "%llu %llu", &from, &to) == 2) {
        if (buf->stx_ino == from) {
            buf->stx_ino = to;
            break;
        }
    }
    fclose(map);
}

int statx(int dirfd, const char *path, int flags, unsigned int mask,
          struct statx *buf)
{
    statx_fn real = (statx_fn)(uintptr_t)dlsym(RTLD_NEXT, "statx");
    int rc = real(dirfd, path, flags, mask, buf);

    if (rc == 0) {
        map_inode(buf);
    }
    return rc;
}
