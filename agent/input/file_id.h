/*
 * File identity. A file is identified by its device, inode, birth time
 * (where the file system records one) and its first line, hashed into one
 * 64-bit id. The same file gets the same id in every run, so document ids
 * derived from it survive restarts. A new file that reuses a freed inode
 * gets a new id because its birth time or first line differ. A file
 * truncated in place gets a new id through its generation number.
 */
#ifndef LF_AGENT_INPUT_FILE_ID_H
#define LF_AGENT_INPUT_FILE_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fingerprint covers the first line, or this many bytes if it is longer. */
#define LF_FILE_HEAD_MAX 1024

struct lf_file_stat {
    uint64_t dev;
    uint64_t ino;
    uint64_t size;
    int64_t btime_ns; /* birth time, or 0 when the file system has none */
    uint32_t nlink;
    bool is_regular;
};

/* Fills `out` for the open file `fd`. Returns 0 or a negative errno code. */
int lf_file_fstat(int fd, struct lf_file_stat *out);

/* As lf_file_fstat() for a path, following symbolic links. */
int lf_file_stat_path(const char *path, struct lf_file_stat *out);

/*
 * Reads the fingerprinted head of `fd`: the bytes up to and including the
 * first "\n", or LF_FILE_HEAD_MAX bytes when no "\n" comes before that.
 * `buf` must hold LF_FILE_HEAD_MAX bytes. Returns 0 and stores the length,
 * LF_EAGAIN when the file does not yet hold a complete first line, or a
 * negative errno code.
 */
int lf_file_read_head(int fd, char *buf, size_t *len_out);

/* Hashes the identity of a file from its stat data and head. */
uint64_t lf_file_id(const struct lf_file_stat *st, const char *head,
                    size_t head_len);

/*
 * Hashes the head alone. A copy of a file has the head hash of the file
 * but not its id, which is how a rotated copy is recognised.
 */
uint64_t lf_file_head_hash(const char *head, size_t head_len);

/*
 * Hashes the head of the file at `path` if it is still the file `dev`,
 * `ino`. Returns 0 and stores the hash, LF_ENOENT when the path now names
 * another file, LF_EAGAIN without a complete first line, or a negative
 * errno code.
 */
int lf_file_head_hash_path(const char *path, uint64_t dev, uint64_t ino,
                           uint64_t *hash_out);

/*
 * Derives the id of generation `generation` of a file whose generation 0
 * has id `base_id`. A file truncated in place starts a new generation, so
 * its new lines get new document ids even when its first line is the
 * same. Generation 0 keeps `base_id` itself.
 */
uint64_t lf_file_id_generation(uint64_t base_id, uint32_t generation);

#endif
