/*
 * credential_process command lines: words split as botocore splits them
 * (Python's shlex.split in POSIX mode), without a shell.
 */
#include "outputs/cloudwatch/aws_process.h"

#include "lf_test.h"

#include <string.h>

/* Splits `command` and checks the words against the NULL-ended
 * `expected`. */
static void check_split(const char *command, const char *const *expected)
{
    char err[256] = "";
    char **argv = lf_aws_process_split(command, err, sizeof(err));
    size_t i = 0;

    LF_CHECK(argv != NULL);
    LF_CHECK_STR_EQ(err, "");
    if (argv == NULL) {
        return;
    }
    for (; expected[i] != NULL; i++) {
        LF_CHECK(argv[i] != NULL);
        if (argv[i] == NULL) {
            break;
        }
        LF_CHECK_STR_EQ(argv[i], expected[i]);
    }
    LF_CHECK(argv[i] == NULL);
    lf_aws_process_argv_free(argv);
}

static void check_split_error(const char *command, const char *expected)
{
    char err[256] = "";

    LF_CHECK(lf_aws_process_split(command, err, sizeof(err)) == NULL);
    LF_CHECK_STR_EQ(err, expected);
}

static void test_aws_process_split_words(void)
{
    check_split("/usr/bin/creds",
                (const char *const[]){"/usr/bin/creds", NULL});
    check_split("  creds  --profile\tdev  ",
                (const char *const[]){"creds", "--profile", "dev", NULL});
    check_split(
        "creds # not a comment",
        (const char *const[]){"creds", "#", "not", "a", "comment", NULL});
    check_split("creds $HOME *.json",
                (const char *const[]){"creds", "$HOME", "*.json", NULL});
}

static void test_aws_process_split_quotes(void)
{
    check_split(
        "\"/opt/my tools/creds\" 'a b' x'y z'w \"\"",
        (const char *const[]){"/opt/my tools/creds", "a b", "xy zw", "", NULL});
    /* In double quotes, a backslash escapes only '"' and '\'. */
    check_split("creds \"a\\\"b\" \"c\\\\d\" \"e\\nf\"",
                (const char *const[]){"creds", "a\"b", "c\\d", "e\\nf", NULL});
    /* In single quotes, nothing is special. */
    check_split("creds 'a\\b' 'c\"d'",
                (const char *const[]){"creds", "a\\b", "c\"d", NULL});
    /* Outside quotes, a backslash escapes any character. */
    check_split("creds a\\ b \\'c",
                (const char *const[]){"creds", "a b", "'c", NULL});
}

static void test_aws_process_split_errors(void)
{
    check_split_error("creds \"open",
                      "credential_process has a quote without its closing "
                      "quote; close it");
    check_split_error("creds 'open",
                      "credential_process has a quote without its closing "
                      "quote; close it");
    check_split_error("creds \\",
                      "credential_process ends with a backslash; remove it "
                      "or escape it as \\\\");
    check_split_error("   ",
                      "credential_process is empty; give the command to run");
}

int main(void)
{
    LF_RUN(test_aws_process_split_words);
    LF_RUN(test_aws_process_split_quotes);
    LF_RUN(test_aws_process_split_errors);
    return lf_test_end();
}
