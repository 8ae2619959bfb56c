/*
 * Names and messages of the LF_E* codes, all generated from LF_ERRNO_MAP so
 * that the enum, the names and the texts cannot drift apart.
 */
#include "lf/error.h"

#include <string.h>

const char *lf_strerror(int code)
{
    switch (code) {
#define LF_ERROR_TEXT(name, value, msg)                                       \
    case (value):                                                             \
        return msg;
        LF_ERRNO_MAP(LF_ERROR_TEXT)
#undef LF_ERROR_TEXT
    default:
        break;
    }

    if (code < 0 && code > -4000) {
        const char *text = strerrordesc_np(-code);
        if (text != NULL) {
            return text;
        }
    }
    return "unknown error";
}

const char *lf_err_name(int code)
{
    switch (code) {
#define LF_ERROR_NAME(name, value, msg)                                       \
    case (value):                                                             \
        return "E" #name;
        LF_ERRNO_MAP(LF_ERROR_NAME)
#undef LF_ERROR_NAME
    default:
        break;
    }

    if (code < 0 && code > -4000) {
        const char *name = strerrorname_np(-code);
        if (name != NULL) {
            return name;
        }
    }
    return "EUNKNOWN";
}
