/*
 * Regex parser on PCRE2. Patterns are compiled and JIT-compiled when the
 * chain is built. Each line then costs one pcre2_jit_match() into the
 * chain's match data and one typed conversion per mapped capture. PCRE2
 * allocates through lf_malloc() by way of a general context, like the
 * rest of the agent.
 */
#include "parsers/regex.h"

#include "lf/error.h"
#include "lf/mem.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/*
 * The JIT stack grows from 32 KiB (PCRE2's own default, on the machine
 * stack) up to 1 MiB, for patterns that backtrack deeply.
 */
#define JIT_STACK_START_BYTES (32 * 1024)
#define JIT_STACK_MAX_BYTES (1024 * 1024)

struct regex_field {
    uint32_t group;
    struct lf_field_map map;
};

struct lf_regex {
    pcre2_code *code;
    bool jit; /* JIT compilation succeeded: use pcre2_jit_match() */
    uint32_t capture_count;
    struct regex_field *fields;
    size_t field_count;
};

struct lf_regex_scratch {
    pcre2_match_data *match_data;
    pcre2_match_context *match_context;
    pcre2_jit_stack *jit_stack;
};

static void *pcre2_alloc(PCRE2_SIZE size, void *data)
{
    (void)data;
    return lf_malloc(size);
}

static void pcre2_release(void *ptr, void *data)
{
    (void)data;
    lf_free(ptr);
}

static pcre2_general_context *general_context_new(void)
{
    return pcre2_general_context_create(pcre2_alloc, pcre2_release, NULL);
}

int lf_regex_new(const char *pattern, struct lf_regex **out, char *errbuf,
                 size_t errlen)
{
    pcre2_general_context *gcontext = general_context_new();
    pcre2_compile_context *ccontext = NULL;
    struct lf_regex *re = lf_calloc(1, sizeof(*re));
    PCRE2_UCHAR message[256];
    PCRE2_SIZE offset;
    int error;
    int rc = 0;

    ccontext = pcre2_compile_context_create(gcontext);
    re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0,
                             &error, &offset, ccontext);
    if (re->code == NULL) {
        pcre2_get_error_message(error, message, sizeof(message));
        snprintf(errbuf, errlen, "invalid pattern: %s at offset %zu",
                 (const char *)message, (size_t)offset);
        rc = LF_EINVAL;
        goto fail;
    }
    /* Without JIT (no executable memory) the interpreter still works. */
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &re->capture_count);
    *out = re;
    re = NULL;

fail:
    lf_regex_free(re);
    pcre2_compile_context_free(ccontext);
    pcre2_general_context_free(gcontext);
    return rc;
}

void lf_regex_free(struct lf_regex *re)
{
    if (re == NULL) {
        return;
    }
    for (size_t i = 0; i < re->field_count; i++) {
        lf_field_map_cleanup(&re->fields[i].map);
    }
    lf_free(re->fields);
    pcre2_code_free(re->code);
    lf_free(re);
}

int lf_regex_capture_number(const struct lf_regex *re, const char *name)
{
    int number = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)name);

    if (number == PCRE2_ERROR_NOUNIQUESUBSTRING) {
        return LF_EEXIST;
    }
    return number < 0 ? LF_ENOENT : number;
}

uint32_t lf_regex_capture_count(const struct lf_regex *re)
{
    return re->capture_count;
}

int lf_regex_add_field(struct lf_regex *re, int number,
                       struct lf_field_map *map)
{
    struct regex_field *field;

    if (number < 1 || (uint32_t)number > re->capture_count) {
        lf_field_map_cleanup(map);
        return LF_EINVAL;
    }
    re->fields =
        lf_realloc(re->fields, (re->field_count + 1) * sizeof(*re->fields));
    field = &re->fields[re->field_count++];
    field->group = (uint32_t)number;
    field->map = *map;
    map->layout = NULL;
    lf_tz_init_utc(&map->tz);
    return 0;
}

struct lf_regex_scratch *lf_regex_scratch_new(uint32_t capture_count)
{
    pcre2_general_context *gcontext = general_context_new();
    struct lf_regex_scratch *scratch = lf_calloc(1, sizeof(*scratch));

    scratch->match_data = pcre2_match_data_create(capture_count + 1, gcontext);
    scratch->match_context = pcre2_match_context_create(gcontext);
    scratch->jit_stack = pcre2_jit_stack_create(JIT_STACK_START_BYTES,
                                                JIT_STACK_MAX_BYTES, gcontext);
    pcre2_jit_stack_assign(scratch->match_context, NULL, scratch->jit_stack);
    pcre2_general_context_free(gcontext);
    return scratch;
}

void lf_regex_scratch_free(struct lf_regex_scratch *scratch)
{
    if (scratch == NULL) {
        return;
    }
    pcre2_jit_stack_free(scratch->jit_stack);
    pcre2_match_context_free(scratch->match_context);
    pcre2_match_data_free(scratch->match_data);
    lf_free(scratch);
}

int lf_regex_apply(struct lf_regex *re, struct lf_regex_scratch *scratch,
                   struct lf_event *ev, const char *subject, size_t len,
                   int64_t now_ns)
{
    const PCRE2_SIZE *ovector;
    int rc;

    if (pcre2_get_ovector_count(scratch->match_data) <= re->capture_count) {
        return LF_EINVAL;
    }
    if (re->jit) {
        rc = pcre2_jit_match(re->code, (PCRE2_SPTR)subject, len, 0, 0,
                             scratch->match_data, scratch->match_context);
    } else {
        rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0,
                         scratch->match_data, scratch->match_context);
    }
    if (rc <= 0) {
        return LF_ENOMATCH;
    }

    ovector = pcre2_get_ovector_pointer(scratch->match_data);
    for (size_t i = 0; i < re->field_count; i++) {
        struct regex_field *field = &re->fields[i];
        PCRE2_SIZE start = ovector[2 * field->group];
        PCRE2_SIZE end = ovector[2 * field->group + 1];

        /* Unset groups did not take part; \K can put start past end. */
        if (start == PCRE2_UNSET || start > end) {
            continue;
        }
        lf_field_map_apply(&field->map, ev, subject + start, end - start,
                           now_ns);
    }
    return 0;
}

bool lf_regex_scratch_group(const struct lf_regex_scratch *scratch,
                            uint32_t number, size_t *start_out,
                            size_t *len_out)
{
    const PCRE2_SIZE *ovector;
    PCRE2_SIZE start;
    PCRE2_SIZE end;

    if (number >= pcre2_get_ovector_count(scratch->match_data)) {
        return false;
    }
    ovector = pcre2_get_ovector_pointer(scratch->match_data);
    start = ovector[2 * number];
    end = ovector[2 * number + 1];
    /* As in lf_regex_apply(): \K can put start past end. */
    if (start == PCRE2_UNSET || start > end) {
        return false;
    }
    *start_out = start;
    *len_out = end - start;
    return true;
}
