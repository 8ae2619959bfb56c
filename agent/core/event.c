/*
 * Event storage. Fields live in one array that grows and is reused, and
 * strings the parsers derive (unescaped or normalised values) live in an
 * arena of blocks that are kept across events.
 */
#include "lf/event.h"
#include "lf/mem.h"

#include <string.h>

enum { LF_ARENA_BLOCK_BYTES = 4096, LF_EVENT_MIN_FIELDS = 32 };

struct lf_arena_block {
    struct lf_arena_block *next;
    size_t used;
    size_t cap;
    char data[];
};

void lf_event_init(struct lf_event *ev)
{
    memset(ev, 0, sizeof(*ev));
}

void lf_event_cleanup(struct lf_event *ev)
{
    struct lf_arena_block *block = ev->arena;

    while (block != NULL) {
        struct lf_arena_block *next = block->next;
        lf_free(block);
        block = next;
    }
    lf_free(ev->fields);
    lf_free(ev->key_lens);
    lf_free(ev->tag_list);
    lf_event_init(ev);
}

void lf_event_reset(struct lf_event *ev)
{
    struct lf_arena_block *block;

    ev->message = NULL;
    ev->message_len = 0;
    ev->field_count = 0;
    ev->tags = 0;
    ev->tag_count = 0;
    ev->log_flags = 0;
    ev->key_filter = 0;

    /* Keep only the first block, so a rare huge value does not pin memory. */
    if (ev->arena == NULL) {
        return;
    }
    block = ev->arena->next;
    while (block != NULL) {
        struct lf_arena_block *next = block->next;
        lf_free(block);
        block = next;
    }
    ev->arena->next = NULL;
    ev->arena->used = 0;
}

/*
 * Returns the key filter bit of a key: a hash of its length and its first
 * and last bytes. Keys of one ECS namespace ("log.level", "log.offset")
 * share their first bytes but rarely their length.
 */
static uint64_t key_bit(const char *key, size_t len)
{
    size_t hash = len;

    if (len > 0) {
        hash = hash * 31 + (unsigned char)key[0];
        hash = hash * 31 + (unsigned char)key[len - 1];
    }
    return UINT64_C(1) << (hash & 63);
}

/*
 * Most keys an event gets are new to it, so the filter settles most
 * lookups without a scan. Keys are usually the same few pointers
 * (literals and configuration strings), so a pointer match skips the
 * text comparison.
 */
static struct lf_field *find_field(const struct lf_event *ev, const char *key,
                                   size_t len, uint64_t bit)
{
    if ((ev->key_filter & bit) == 0) {
        return NULL;
    }
    for (size_t i = 0; i < ev->field_count; i++) {
        const char *other = ev->fields[i].key;

        if (ev->key_lens[i] == len &&
            (other == key ||
             (other[0] == key[0] && memcmp(other, key, len) == 0))) {
            return &ev->fields[i];
        }
    }
    return NULL;
}

static struct lf_field *lookup(const struct lf_event *ev, const char *key)
{
    size_t len = strlen(key);

    return find_field(ev, key, len, key_bit(key, len));
}

static void grow_fields(struct lf_event *ev)
{
    size_t cap = ev->field_cap == 0 ? LF_EVENT_MIN_FIELDS : ev->field_cap * 2;

    ev->fields = lf_realloc(ev->fields, cap * sizeof(*ev->fields));
    ev->key_lens = lf_realloc(ev->key_lens, cap * sizeof(*ev->key_lens));
    ev->field_cap = cap;
}

/* The body of every setter, inlined so that a set costs one call. */
static inline void set_value(struct lf_event *ev, const char *key,
                             const struct lf_value *value)
{
    size_t len = strlen(key);
    uint64_t bit = key_bit(key, len);
    struct lf_field *field = find_field(ev, key, len, bit);

    if (field == NULL) {
        if (ev->field_count == ev->field_cap) {
            grow_fields(ev);
        }
        ev->key_lens[ev->field_count] = len;
        field = &ev->fields[ev->field_count++];
        field->key = key;
        ev->key_filter |= bit;
    }
    field->value = *value;
}

void lf_event_set(struct lf_event *ev, const char *key,
                  const struct lf_value *value)
{
    set_value(ev, key, value);
}

void lf_event_set_str(struct lf_event *ev, const char *key, const char *ptr,
                      size_t len)
{
    struct lf_value v = {.type = LF_VALUE_STRING};

    v.u.str.ptr = ptr;
    v.u.str.len = len;
    set_value(ev, key, &v);
}

void lf_event_set_int(struct lf_event *ev, const char *key, int64_t i)
{
    struct lf_value v = {.type = LF_VALUE_INT, .u.i = i};

    set_value(ev, key, &v);
}

void lf_event_set_float(struct lf_event *ev, const char *key, double f)
{
    struct lf_value v = {.type = LF_VALUE_FLOAT, .u.f = f};

    set_value(ev, key, &v);
}

void lf_event_set_bool(struct lf_event *ev, const char *key, bool b)
{
    struct lf_value v = {.type = LF_VALUE_BOOL, .u.b = b};

    set_value(ev, key, &v);
}

void lf_event_set_timestamp(struct lf_event *ev, const char *key,
                            int64_t ts_ns)
{
    struct lf_value v = {.type = LF_VALUE_TIMESTAMP, .u.ts_ns = ts_ns};

    set_value(ev, key, &v);
}

void lf_event_set_json(struct lf_event *ev, const char *key, const char *ptr,
                       size_t len)
{
    struct lf_value v = {.type = LF_VALUE_JSON};

    v.u.str.ptr = ptr;
    v.u.str.len = len;
    set_value(ev, key, &v);
}

const struct lf_value *lf_event_get(const struct lf_event *ev,
                                    const char *key)
{
    const struct lf_field *field = lookup(ev, key);

    return field == NULL ? NULL : &field->value;
}

bool lf_event_remove(struct lf_event *ev, const char *key)
{
    struct lf_field *field = lookup(ev, key);
    size_t index;
    size_t after;

    if (field == NULL) {
        return false;
    }
    index = (size_t)(field - ev->fields);
    after = ev->field_count - index - 1;
    memmove(field, field + 1, after * sizeof(*ev->fields));
    memmove(ev->key_lens + index, ev->key_lens + index + 1,
            after * sizeof(*ev->key_lens));
    ev->field_count--;
    return true;
}

void lf_event_add_tag(struct lf_event *ev, const char *tag)
{
    for (size_t i = 0; i < ev->tag_count; i++) {
        if (strcmp(ev->tag_list[i], tag) == 0) {
            return;
        }
    }
    if (ev->tag_count == ev->tag_cap) {
        ev->tag_cap = ev->tag_cap == 0 ? 4 : ev->tag_cap * 2;
        ev->tag_list =
            lf_realloc(ev->tag_list, ev->tag_cap * sizeof(*ev->tag_list));
    }
    ev->tag_list[ev->tag_count++] = tag;
}

char *lf_event_alloc(struct lf_event *ev, size_t size)
{
    struct lf_arena_block *block = ev->arena;
    char *ptr;

    /* Keep every allocation 8-byte aligned. */
    size = (size + 7) & ~(size_t)7;

    /*
     * The head block is kept by reset; overflow blocks are inserted right
     * after it, so the newest overflow block is always head->next.
     */
    if (block != NULL && block->cap - block->used < size) {
        block = block->next;
    }
    if (block == NULL || block->cap - block->used < size) {
        size_t cap = size > LF_ARENA_BLOCK_BYTES ? size : LF_ARENA_BLOCK_BYTES;
        struct lf_arena_block *fresh = lf_malloc(sizeof(*fresh) + cap);

        fresh->used = 0;
        fresh->cap = cap;
        if (ev->arena == NULL) {
            fresh->next = NULL;
            ev->arena = fresh;
        } else {
            fresh->next = ev->arena->next;
            ev->arena->next = fresh;
        }
        block = fresh;
    }
    ptr = block->data + block->used;
    block->used += size;
    return ptr;
}

const char *lf_event_copy_str(struct lf_event *ev, const char *ptr,
                              size_t len)
{
    char *copy = lf_event_alloc(ev, len + 1);

    memcpy(copy, ptr, len);
    copy[len] = '\0';
    return copy;
}
