/*
 * The only place that calls the C allocator. Failure aborts with a message
 * on stderr, see mem.h for why that is safe for this agent.
 */
#include "lf/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *ptr, size_t size)
{
    if (ptr == NULL && size != 0) {
        fprintf(stderr, "logferry: out of memory allocating %zu bytes\n",
                size);
        abort();
    }
    return ptr;
}

void *lf_malloc(size_t size)
{
    return check(malloc(size), size);
}

void *lf_calloc(size_t count, size_t size)
{
    return check(calloc(count, size), count * size);
}

void *lf_realloc(void *ptr, size_t size)
{
    return check(realloc(ptr, size), size);
}

void lf_free(void *ptr)
{
    free(ptr);
}

char *lf_strdup(const char *s)
{
    return lf_strndup(s, strlen(s));
}

char *lf_strndup(const char *s, size_t len)
{
    char *copy = lf_malloc(len + 1);

    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}
