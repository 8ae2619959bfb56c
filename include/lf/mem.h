/*
 * Allocation wrappers. An allocation failure aborts the process: the agent
 * cannot make progress without memory, and because the registry holds only
 * acknowledged offsets, a restart resumes without losing a line.
 */
#ifndef LF_LF_MEM_H
#define LF_LF_MEM_H

#include <stddef.h>

void *lf_malloc(size_t size);
void *lf_calloc(size_t count, size_t size);
void *lf_realloc(void *ptr, size_t size);
void lf_free(void *ptr);

/* Returns a NUL-terminated heap copy of `s`; the caller frees it. */
char *lf_strdup(const char *s);

/* Returns a NUL-terminated heap copy of the first `len` bytes of `s`. */
char *lf_strndup(const char *s, size_t len);

/* Length of a string literal, without its terminating NUL. */
#define LF_STRLEN(literal) (sizeof(literal) - 1)

#define LF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
