/*
 * A sorted array searched by bisection. New cuts mostly come at the end,
 * and lines read in file order find no cut past them.
 */
#include "agent/input/cut.h"
#include "lf/mem.h"

#include <string.h>

void lf_cuts_init(struct lf_cuts *cuts)
{
    memset(cuts, 0, sizeof(*cuts));
}

void lf_cuts_cleanup(struct lf_cuts *cuts)
{
    lf_free(cuts->items);
    lf_cuts_init(cuts);
}

static void reserve(struct lf_cuts *cuts, size_t count)
{
    if (count <= cuts->cap) {
        return;
    }
    cuts->cap = cuts->cap == 0 ? 4 : cuts->cap * 2;
    if (cuts->cap < count) {
        cuts->cap = count;
    }
    cuts->items = lf_realloc(cuts->items, cuts->cap * sizeof(*cuts->items));
}

void lf_cuts_copy(struct lf_cuts *dst, const struct lf_cuts *src)
{
    dst->count = 0;
    if (src == NULL || src->count == 0) {
        return;
    }
    reserve(dst, src->count);
    memcpy(dst->items, src->items, src->count * sizeof(*src->items));
    dst->count = src->count;
}

/* Returns the index of the first cut at or after `offset`. */
static size_t first_from(const struct lf_cuts *cuts, uint64_t offset)
{
    size_t low = 0;
    size_t high = cuts->count;

    while (low < high) {
        size_t mid = low + (high - low) / 2;

        if (cuts->items[mid].offset < offset) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    return low;
}

bool lf_cuts_add(struct lf_cuts *cuts, uint64_t offset, unsigned kinds,
                 uint64_t start)
{
    size_t i = first_from(cuts, offset);

    if (i < cuts->count && cuts->items[i].offset == offset) {
        if ((cuts->items[i].kinds & kinds) == kinds) {
            return false;
        }
        cuts->items[i].kinds |= kinds;
        if (kinds >= LF_CUT_SHIPPED) {
            cuts->items[i].start = start;
        }
        return true;
    }
    reserve(cuts, cuts->count + 1);
    memmove(&cuts->items[i + 1], &cuts->items[i],
            (cuts->count - i) * sizeof(*cuts->items));
    cuts->items[i].offset = offset;
    cuts->items[i].kinds = kinds;
    cuts->items[i].start = kinds >= LF_CUT_SHIPPED ? start : 0;
    cuts->count++;
    return true;
}

bool lf_cuts_drop_through(struct lf_cuts *cuts, uint64_t offset)
{
    size_t n = offset == UINT64_MAX ? cuts->count
                                    : first_from(cuts, offset + 1);

    if (n == 0) {
        return false;
    }
    memmove(cuts->items, &cuts->items[n],
            (cuts->count - n) * sizeof(*cuts->items));
    cuts->count -= n;
    return true;
}

unsigned lf_cuts_at(const struct lf_cuts *cuts, uint64_t offset)
{
    size_t i = first_from(cuts, offset);

    if (i < cuts->count && cuts->items[i].offset == offset) {
        return cuts->items[i].kinds;
    }
    return 0;
}

uint64_t lf_cuts_next(const struct lf_cuts *cuts, uint64_t offset,
                      unsigned kinds)
{
    if (offset == UINT64_MAX) {
        return UINT64_MAX;
    }
    for (size_t i = first_from(cuts, offset + 1); i < cuts->count; i++) {
        if ((cuts->items[i].kinds & kinds) != 0) {
            return cuts->items[i].offset;
        }
    }
    return UINT64_MAX;
}

bool lf_cuts_shipped(const struct lf_cuts *cuts, unsigned stream,
                     uint64_t end_offset, uint64_t restart_offset)
{
    unsigned kind = (unsigned)LF_CUT_SHIPPED << stream;

    for (size_t i = first_from(cuts, end_offset); i < cuts->count; i++) {
        const struct lf_cut *cut = &cuts->items[i];

        if ((cut->kinds & kind) != 0 && cut->start < restart_offset) {
            return true;
        }
    }
    return false;
}
