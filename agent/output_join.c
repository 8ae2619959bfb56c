/*
 * Open addressing with linear probing and backward-shift deletion, so a
 * lookup never walks over tombstones.
 */
#include "agent/output_join.h"
#include "lf/mem.h"

#include <string.h>

/* Initial number of slots, a power of two. */
#define JOIN_MIN_SLOTS 256

struct lf_output_join_entry {
    void *source; /* the key is the source and ticket of the ref */
    uint64_t ticket;
    uint32_t owed;   /* results still to come; 0 marks a free slot */
    uint32_t result; /* enum lf_delivery, combined over the results */
};

void lf_output_join_init(struct lf_output_join *join)
{
    memset(join, 0, sizeof(*join));
}

void lf_output_join_cleanup(struct lf_output_join *join)
{
    lf_free(join->slots);
    memset(join, 0, sizeof(*join));
}

size_t lf_output_join_count(const struct lf_output_join *join)
{
    return join->count;
}

static size_t hash_ref(const void *source, uint64_t ticket)
{
    uint64_t h =
        (uint64_t)(uintptr_t)source ^ (ticket * UINT64_C(0x9e3779b97f4a7c15));

    h ^= h >> 32;
    h *= UINT64_C(0xd6e8feb86659fd93);
    h ^= h >> 32;
    return (size_t)h;
}

/* Returns the slot of `ref`, or the free slot where it would go. */
static size_t probe(const struct lf_output_join *join, struct lf_ack_ref ref)
{
    size_t mask = join->cap - 1;
    size_t i = hash_ref(ref.source, ref.ticket) & mask;

    while (join->slots[i].owed != 0 && (join->slots[i].source != ref.source ||
                                        join->slots[i].ticket != ref.ticket)) {
        i = (i + 1) & mask;
    }
    return i;
}

static void grow(struct lf_output_join *join)
{
    struct lf_output_join grown = {
        .cap = join->cap == 0 ? JOIN_MIN_SLOTS : join->cap * 2,
        .count = join->count,
    };

    grown.slots = lf_calloc(grown.cap, sizeof(*grown.slots));
    for (size_t i = 0; i < join->cap; i++) {
        const struct lf_output_join_entry *entry = &join->slots[i];

        if (entry->owed != 0) {
            struct lf_ack_ref ref = {entry->source, entry->ticket};

            grown.slots[probe(&grown, ref)] = *entry;
        }
    }
    lf_free(join->slots);
    *join = grown;
}

/* Frees slot `i` and moves later entries of its probe run back. */
static void remove_at(struct lf_output_join *join, size_t i)
{
    size_t mask = join->cap - 1;
    size_t j = i;

    for (;;) {
        const struct lf_output_join_entry *next;
        size_t home;

        j = (j + 1) & mask;
        next = &join->slots[j];
        if (next->owed == 0) {
            break;
        }
        home = hash_ref(next->source, next->ticket) & mask;
        /* It may fill the hole at i unless its home lies after i. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            join->slots[i] = *next;
            i = j;
        }
    }
    join->slots[i].owed = 0;
    join->count--;
}

void lf_output_join_add(struct lf_output_join *join, struct lf_ack_ref ref,
                        uint32_t owed)
{
    struct lf_output_join_entry *entry;

    if ((join->count + 1) * 2 > join->cap) {
        grow(join);
    }
    entry = &join->slots[probe(join, ref)];
    if (entry->owed == 0) {
        entry->source = ref.source;
        entry->ticket = ref.ticket;
        entry->result = LF_DELIVERY_DUPLICATE;
        join->count++;
    }
    entry->owed += owed;
}

void lf_output_join_release(struct lf_output_join *join, struct lf_ack_ref ref,
                            uint32_t owed)
{
    size_t i;

    if (join->count == 0) {
        return;
    }
    i = probe(join, ref);
    if (join->slots[i].owed == 0) {
        return;
    }
    if (join->slots[i].owed > owed) {
        join->slots[i].owed -= owed;
    } else {
        remove_at(join, i);
    }
}

static enum lf_delivery combine(enum lf_delivery a, enum lf_delivery b)
{
    if (a == LF_DELIVERY_REJECTED || b == LF_DELIVERY_REJECTED) {
        return LF_DELIVERY_REJECTED;
    }
    if (a == LF_DELIVERY_INDEXED || b == LF_DELIVERY_INDEXED) {
        return LF_DELIVERY_INDEXED;
    }
    return LF_DELIVERY_DUPLICATE;
}

bool lf_output_join_settle(struct lf_output_join *join, struct lf_ack_ref ref,
                           enum lf_delivery result, enum lf_delivery *combined)
{
    struct lf_output_join_entry *entry;
    size_t i;

    if (join->count == 0) {
        return false;
    }
    i = probe(join, ref);
    entry = &join->slots[i];
    if (entry->owed == 0) {
        return false;
    }
    entry->result = combine((enum lf_delivery)entry->result, result);
    if (--entry->owed > 0) {
        return false;
    }
    *combined = (enum lf_delivery)entry->result;
    remove_at(join, i);
    return true;
}
