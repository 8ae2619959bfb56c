/*
 * AWS shared config and credentials files: syntax, profile sections of
 * each file, precedence of the credentials file, the environment
 * variables that choose the files and the profile, and error messages
 * that name the file and line but never a secret.
 */
#include "outputs/cloudwatch/aws_profile.h"
#include "lf/error.h"
#include "lf/mem.h"

#include "lf_test.h"

#include <unistd.h>

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static const char config_text[] =
    "# AWS CLI config\n"
    "[default]\n"
    "region = us-east-1\n"
    "output=json\n"
    "\n"
    "[profile dev]\n"
    "  ; indented comment\n"
    "REGION: eu-west-1\n"
    "role_arn = arn:aws:iam::111122223333:role/logferry\n"
    "source_profile = default\n"
    "role_session_name = logferry-dev # kept, not a comment\n"
    "s3 =\n"
    "    addressing_style = path\n"
    "external_id = ext-1\n"
    "\n"
    "[profile   sidecar  ]\r\n"
    "web_identity_token_file = /var/run/secrets/token\r\n"
    "role_arn = arn:aws:iam::111122223333:role/sidecar\r\n"
    "\n"
    "[profile ec2]\n"
    "credential_source = Ec2InstanceMetadata\n"
    "role_arn = arn:aws:iam::111122223333:role/ec2\n"
    "\n"
    "[notaprofile]\n"
    "region = ap-south-1\n"
    "[sso-session corp]\n"
    "sso_region = us-east-1\n"
    "[profile two words]\n"
    "region = sa-east-1\n"
    "[profile empty]\n";

static const char credentials_text[] = "[default]\n"
                                       "aws_access_key_id = AKIDEXAMPLE\n"
                                       "aws_secret_access_key = " SECRET "\n"
                                       "\n"
                                       "[dev]\n"
                                       "region = eu-central-1\n"
                                       "aws_access_key_id=AKIDDEV\n"
                                       "aws_secret_access_key=devsecret\n"
                                       "aws_session_token=devtoken\n"
                                       "\n"
                                       "[notaprofile]\n"
                                       "aws_access_key_id = AKIDOTHER\n"
                                       "aws_secret_access_key = othersecret\n";

static struct lf_aws_shared_config *parse_both(void)
{
    struct lf_aws_shared_config *cfg = lf_aws_shared_config_new();
    char err[256] = "";

    LF_CHECK_INT_EQ(lf_aws_shared_config_parse(
                        cfg, LF_AWS_FILE_CONFIG, "config", config_text,
                        strlen(config_text), err, sizeof(err)),
                    0);
    LF_CHECK_STR_EQ(err, "");
    LF_CHECK_INT_EQ(lf_aws_shared_config_parse(cfg, LF_AWS_FILE_CREDENTIALS,
                                               "credentials", credentials_text,
                                               strlen(credentials_text), err,
                                               sizeof(err)),
                    0);
    LF_CHECK_STR_EQ(err, "");
    return cfg;
}

static void test_aws_profile_default(void)
{
    struct lf_aws_shared_config *cfg = parse_both();
    struct lf_aws_profile p;
    char err[256];

    LF_CHECK_INT_EQ(
        lf_aws_shared_config_get(cfg, "default", &p, err, sizeof(err)), 0);
    LF_CHECK_STR_EQ(p.name, "default");
    LF_CHECK_STR_EQ(p.aws_access_key_id, "AKIDEXAMPLE");
    LF_CHECK_STR_EQ(p.aws_secret_access_key, SECRET);
    LF_CHECK(p.aws_session_token == NULL);
    LF_CHECK_STR_EQ(p.region, "us-east-1");
    LF_CHECK(p.role_arn == NULL);
    lf_aws_profile_cleanup(&p);
    LF_CHECK(p.aws_secret_access_key == NULL);
    lf_aws_shared_config_free(cfg);
}

static void test_aws_profile_credentials_win(void)
{
    struct lf_aws_shared_config *cfg = parse_both();
    struct lf_aws_profile p;
    char err[256];

    LF_CHECK_INT_EQ(lf_aws_shared_config_get(cfg, "dev", &p, err, sizeof(err)),
                    0);
    /* region is in both files: the credentials file wins. */
    LF_CHECK_STR_EQ(p.region, "eu-central-1");
    LF_CHECK_STR_EQ(p.aws_access_key_id, "AKIDDEV");
    LF_CHECK_STR_EQ(p.aws_secret_access_key, "devsecret");
    LF_CHECK_STR_EQ(p.aws_session_token, "devtoken");
    LF_CHECK_STR_EQ(p.role_arn, "arn:aws:iam::111122223333:role/logferry");
    LF_CHECK_STR_EQ(p.source_profile, "default");
    LF_CHECK_STR_EQ(p.role_session_name, "logferry-dev # kept, not a comment");
    LF_CHECK_STR_EQ(p.external_id, "ext-1");
    lf_aws_profile_cleanup(&p);
    lf_aws_shared_config_free(cfg);
}

static void test_aws_profile_config_sections(void)
{
    struct lf_aws_shared_config *cfg = parse_both();
    struct lf_aws_profile p;
    char err[256];

    LF_CHECK_INT_EQ(
        lf_aws_shared_config_get(cfg, "sidecar", &p, err, sizeof(err)), 0);
    LF_CHECK_STR_EQ(p.web_identity_token_file, "/var/run/secrets/token");
    LF_CHECK_STR_EQ(p.role_arn, "arn:aws:iam::111122223333:role/sidecar");
    lf_aws_profile_cleanup(&p);

    LF_CHECK_INT_EQ(lf_aws_shared_config_get(cfg, "ec2", &p, err, sizeof(err)),
                    0);
    LF_CHECK_STR_EQ(p.credential_source, "Ec2InstanceMetadata");
    lf_aws_profile_cleanup(&p);

    /* A section with no keys is still a profile. */
    LF_CHECK_INT_EQ(
        lf_aws_shared_config_get(cfg, "empty", &p, err, sizeof(err)), 0);
    LF_CHECK(p.region == NULL);
    lf_aws_profile_cleanup(&p);

    /* "[notaprofile]" is no profile in the config file, so only the
     * credentials file's keys count. */
    LF_CHECK_INT_EQ(
        lf_aws_shared_config_get(cfg, "notaprofile", &p, err, sizeof(err)), 0);
    LF_CHECK(p.region == NULL);
    LF_CHECK_STR_EQ(p.aws_access_key_id, "AKIDOTHER");
    lf_aws_profile_cleanup(&p);

    LF_CHECK_INT_EQ(lf_aws_shared_config_get(cfg, "corp", &p, err, sizeof(err)),
                    LF_ENOENT);
    LF_CHECK_INT_EQ(
        lf_aws_shared_config_get(cfg, "two words", &p, err, sizeof(err)),
        LF_ENOENT);
    lf_aws_shared_config_free(cfg);
}

static void test_aws_profile_not_found(void)
{
    struct lf_aws_shared_config *cfg = parse_both();
    struct lf_aws_profile p;
    char err[256];

    LF_CHECK_INT_EQ(lf_aws_shared_config_get(cfg, "prod", &p, err, sizeof(err)),
                    LF_ENOENT);
    LF_CHECK_STR_EQ(err, "profile \"prod\" not found in credentials or "
                         "config; add it to one of them or set AWS_PROFILE "
                         "to an existing profile");
    LF_CHECK(p.name == NULL);
    lf_aws_shared_config_free(cfg);
}

static void test_aws_profile_repeated_keys(void)
{
    struct lf_aws_shared_config *cfg = lf_aws_shared_config_new();
    struct lf_aws_profile p;
    char err[256];
    static const char text[] = "[profile a]\n"
                               "region = us-east-1\n"
                               "[profile b]\n"
                               "region = us-west-2\n"
                               "[profile a]\n"
                               "role_arn = r\n"
                               "region = eu-west-3\n";

    LF_CHECK_INT_EQ(lf_aws_shared_config_parse(cfg, LF_AWS_FILE_CONFIG,
                                               "config", text, strlen(text),
                                               err, sizeof(err)),
                    0);
    LF_CHECK_INT_EQ(lf_aws_shared_config_get(cfg, "a", &p, err, sizeof(err)),
                    0);
    LF_CHECK_STR_EQ(p.region, "eu-west-3");
    LF_CHECK_STR_EQ(p.role_arn, "r");
    lf_aws_profile_cleanup(&p);
    lf_aws_shared_config_free(cfg);
}

static int parse_one(enum lf_aws_file_kind kind, const char *text, char *err,
                     size_t errlen)
{
    struct lf_aws_shared_config *cfg = lf_aws_shared_config_new();
    int rc = lf_aws_shared_config_parse(cfg, kind, "/home/app/.aws/x", text,
                                        strlen(text), err, errlen);

    lf_aws_shared_config_free(cfg);
    return rc;
}

static void test_aws_profile_syntax_errors(void)
{
    char err[256];

    LF_CHECK_INT_EQ(
        parse_one(LF_AWS_FILE_CONFIG, "# top\nregion = x\n", err, sizeof(err)),
        LF_EPARSE);
    LF_CHECK_STR_EQ(err, "/home/app/.aws/x:2: key outside a section; add a "
                         "[default] or [profile NAME] line above it");

    LF_CHECK_INT_EQ(
        parse_one(LF_AWS_FILE_CREDENTIALS, "a = b\n", err, sizeof(err)),
        LF_EPARSE);
    LF_CHECK_STR_EQ(err, "/home/app/.aws/x:1: key outside a section; add a "
                         "[default] or [NAME] line above it");

    LF_CHECK_INT_EQ(
        parse_one(LF_AWS_FILE_CONFIG, "[profile a\n", err, sizeof(err)),
        LF_EPARSE);
    LF_CHECK_STR_EQ(err, "/home/app/.aws/x:1: section header has no closing "
                         "']'; write it as [NAME]");

    LF_CHECK_INT_EQ(parse_one(LF_AWS_FILE_CONFIG, "[ ]\n", err, sizeof(err)),
                    LF_EPARSE);
    LF_CHECK_STR_EQ(err, "/home/app/.aws/x:1: section header has no name; "
                         "write it as [NAME]");

    LF_CHECK_INT_EQ(
        parse_one(LF_AWS_FILE_CONFIG, "[default]\n= v\n", err, sizeof(err)),
        LF_EPARSE);
    LF_CHECK_STR_EQ(err, "/home/app/.aws/x:2: key = value pair has no key; "
                         "write the key before '='");
}

/* A pasted secret on a line of its own is reported without its value. */
static void test_aws_profile_error_hides_secret(void)
{
    char err[256];

    LF_CHECK_INT_EQ(parse_one(LF_AWS_FILE_CREDENTIALS,
                              "[default]\naws_access_key_id = AKID\n" SECRET
                              "\n",
                              err, sizeof(err)),
                    LF_EPARSE);
    LF_CHECK_STR_EQ(err, "/home/app/.aws/x:3: line is not a [section] "
                         "header, a key = value pair or a comment; fix the "
                         "line or put '#' before it");
    LF_CHECK(strstr(err, "EXAMPLEKEY") == NULL);
}

static void test_aws_profile_incomplete_keys(void)
{
    struct lf_aws_shared_config *cfg = lf_aws_shared_config_new();
    struct lf_aws_profile p;
    char err[256];
    static const char text[] = "[a]\n"
                               "aws_access_key_id = AKIDA\n"
                               "[b]\n"
                               "aws_secret_access_key = " SECRET "\n"
                               "[c]\n"
                               "aws_session_token = tokenvalue\n";

    LF_CHECK_INT_EQ(lf_aws_shared_config_parse(cfg, LF_AWS_FILE_CREDENTIALS,
                                               "creds", text, strlen(text), err,
                                               sizeof(err)),
                    0);
    LF_CHECK_INT_EQ(lf_aws_shared_config_get(cfg, "a", &p, err, sizeof(err)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(err, "profile \"a\" has aws_access_key_id (creds:2) but "
                         "no aws_secret_access_key; add the secret key to "
                         "the profile or remove the key ID");
    LF_CHECK_INT_EQ(lf_aws_shared_config_get(cfg, "b", &p, err, sizeof(err)),
                    LF_ECONFIG);
    LF_CHECK_STR_EQ(err, "profile \"b\" has aws_secret_access_key (creds:4) "
                         "but no aws_access_key_id; add the key ID to the "
                         "profile or remove the secret key");
    LF_CHECK(strstr(err, "EXAMPLEKEY") == NULL);
    LF_CHECK_INT_EQ(lf_aws_shared_config_get(cfg, "c", &p, err, sizeof(err)),
                    LF_ECONFIG);
    LF_CHECK(strstr(err, "tokenvalue") == NULL);
    LF_CHECK(p.name == NULL);
    lf_aws_shared_config_free(cfg);
}

static void test_aws_profile_select(void)
{
    struct lf_aws_profile_env env = {"/home/app", NULL, NULL, NULL};

    LF_CHECK_STR_EQ(lf_aws_profile_select(&env, NULL), "default");
    env.profile = "";
    LF_CHECK_STR_EQ(lf_aws_profile_select(&env, NULL), "default");
    env.profile = "dev";
    LF_CHECK_STR_EQ(lf_aws_profile_select(&env, NULL), "dev");
    LF_CHECK_STR_EQ(lf_aws_profile_select(&env, ""), "dev");
    LF_CHECK_STR_EQ(lf_aws_profile_select(&env, "prod"), "prod");
}

static void test_aws_profile_paths(void)
{
    struct lf_aws_profile_env env = {"/home/app", NULL, NULL, NULL};
    char path[64];

    LF_CHECK_INT_EQ(
        lf_aws_profile_path(&env, LF_AWS_FILE_CONFIG, path, sizeof(path)), 0);
    LF_CHECK_STR_EQ(path, "/home/app/.aws/config");
    LF_CHECK_INT_EQ(
        lf_aws_profile_path(&env, LF_AWS_FILE_CREDENTIALS, path, sizeof(path)),
        0);
    LF_CHECK_STR_EQ(path, "/home/app/.aws/credentials");

    env.config_file = "~/cfg/aws";
    env.credentials_file = "/etc/logferry/aws-credentials";
    LF_CHECK_INT_EQ(
        lf_aws_profile_path(&env, LF_AWS_FILE_CONFIG, path, sizeof(path)), 0);
    LF_CHECK_STR_EQ(path, "/home/app/cfg/aws");
    LF_CHECK_INT_EQ(
        lf_aws_profile_path(&env, LF_AWS_FILE_CREDENTIALS, path, sizeof(path)),
        0);
    LF_CHECK_STR_EQ(path, "/etc/logferry/aws-credentials");

    env.home = NULL;
    env.config_file = NULL;
    LF_CHECK_INT_EQ(
        lf_aws_profile_path(&env, LF_AWS_FILE_CONFIG, path, sizeof(path)),
        LF_ENOENT);
    env.credentials_file = "/a/path/much/longer/than/the/sixty/four/bytes/"
                           "of/the/buffer/given";
    LF_CHECK_INT_EQ(
        lf_aws_profile_path(&env, LF_AWS_FILE_CREDENTIALS, path, sizeof(path)),
        LF_ENAMETOOLONG);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    LF_CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_aws_profile_load_files(void)
{
    char dir[] = "/tmp/lf-test_aws_profile_XXXXXX";
    char config_path[128];
    char credentials_path[128];
    struct lf_aws_profile_env env = {NULL, NULL, NULL, NULL};
    struct lf_aws_shared_config *cfg;
    struct lf_aws_profile p;
    char err[512] = "";

    LF_CHECK(mkdtemp(dir) != NULL);
    snprintf(config_path, sizeof(config_path), "%s/config", dir);
    snprintf(credentials_path, sizeof(credentials_path), "%s/credentials", dir);
    write_file(config_path, config_text);
    write_file(credentials_path, credentials_text);
    env.config_file = config_path;
    env.credentials_file = credentials_path;

    cfg = lf_aws_shared_config_new();
    LF_CHECK_INT_EQ(lf_aws_shared_config_load(cfg, &env, err, sizeof(err)), 0);
    LF_CHECK_INT_EQ(lf_aws_shared_config_get(cfg, "dev", &p, err, sizeof(err)),
                    0);
    LF_CHECK_STR_EQ(p.region, "eu-central-1");
    LF_CHECK_STR_EQ(p.role_arn, "arn:aws:iam::111122223333:role/logferry");
    lf_aws_profile_cleanup(&p);
    lf_aws_shared_config_free(cfg);

    /* A missing credentials file is skipped; the config file still
     * counts. */
    unlink(credentials_path);
    cfg = lf_aws_shared_config_new();
    LF_CHECK_INT_EQ(lf_aws_shared_config_load(cfg, &env, err, sizeof(err)), 0);
    LF_CHECK_INT_EQ(lf_aws_shared_config_get(cfg, "dev", &p, err, sizeof(err)),
                    0);
    LF_CHECK_STR_EQ(p.region, "eu-west-1");
    LF_CHECK(p.aws_access_key_id == NULL);
    lf_aws_profile_cleanup(&p);
    lf_aws_shared_config_free(cfg);

    /* A syntax error names the file's path and the line. */
    write_file(credentials_path, "[default]\nnot a pair\n");
    cfg = lf_aws_shared_config_new();
    LF_CHECK_INT_EQ(lf_aws_shared_config_load(cfg, &env, err, sizeof(err)),
                    LF_EPARSE);
    LF_CHECK(strncmp(err, credentials_path, strlen(credentials_path)) == 0);
    LF_CHECK(strstr(err, "/credentials:2: ") != NULL);
    lf_aws_shared_config_free(cfg);

    unlink(credentials_path);
    unlink(config_path);
    rmdir(dir);
}

static const char chain_config[] =
    "[profile app]\n"
    "role_arn = arn:aws:iam::1:role/app\n"
    "source_profile = hop\n"
    "role_session_name = app-session\n"
    "[profile hop]\n"
    "role_arn = arn:aws:iam::1:role/hop\n"
    "source_profile = base\n"
    "external_id = ext-hop\n"
    "[profile base]\n"
    "aws_access_key_id = AKIDBASE\n"
    "aws_secret_access_key = basesecret\n"
    "role_arn = arn:aws:iam::1:role/ignored-in-a-source\n"
    "source_profile = base\n"
    "[profile self]\n"
    "role_arn = arn:aws:iam::1:role/self\n"
    "source_profile = self\n"
    "aws_access_key_id = AKIDSELF\n"
    "aws_secret_access_key = selfsecret\n"
    "[profile loop-a]\n"
    "role_arn = arn:aws:iam::1:role/a\n"
    "source_profile = loop-b\n"
    "[profile loop-b]\n"
    "role_arn = arn:aws:iam::1:role/b\n"
    "source_profile = loop-c\n"
    "[profile loop-c]\n"
    "role_arn = arn:aws:iam::1:role/c\n"
    "source_profile = loop-a\n"
    "[profile self-loop]\n"
    "role_arn = arn:aws:iam::1:role/s\n"
    "source_profile = self-loop\n"
    "[profile on-ec2]\n"
    "role_arn = arn:aws:iam::1:role/ec2\n"
    "credential_source = Ec2InstanceMetadata\n"
    "[profile via-ec2]\n"
    "role_arn = arn:aws:iam::1:role/outer\n"
    "source_profile = on-ec2\n"
    "[profile bad-source]\n"
    "role_arn = arn:aws:iam::1:role/x\n"
    "credential_source = Ec2\n"
    "[profile both]\n"
    "role_arn = arn:aws:iam::1:role/x\n"
    "credential_source = EcsContainer\n"
    "source_profile = base\n"
    "[profile neither]\n"
    "role_arn = arn:aws:iam::1:role/x\n"
    "[profile missing-source]\n"
    "role_arn = arn:aws:iam::1:role/x\n"
    "source_profile = nowhere\n"
    "[profile empty-source]\n"
    "role_arn = arn:aws:iam::1:role/x\n"
    "source_profile = region-only\n"
    "[profile region-only]\n"
    "region = eu-west-1\n"
    "[profile process]\n"
    "credential_process = /usr/bin/creds --profile \"a b\"\n"
    "[profile keys-and-process]\n"
    "aws_access_key_id = AKIDKP\n"
    "aws_secret_access_key = kpsecret\n"
    "credential_process = /usr/bin/creds\n"
    "[profile via-process]\n"
    "role_arn = arn:aws:iam::1:role/p\n"
    "source_profile = process\n"
    "[profile web]\n"
    "web_identity_token_file = /var/run/token\n";

static struct lf_aws_shared_config *parse_chains(void)
{
    struct lf_aws_shared_config *cfg = lf_aws_shared_config_new();
    char err[256] = "";

    LF_CHECK_INT_EQ(lf_aws_shared_config_parse(
                        cfg, LF_AWS_FILE_CONFIG, "config", chain_config,
                        strlen(chain_config), err, sizeof(err)),
                    0);
    LF_CHECK_STR_EQ(err, "");
    return cfg;
}

static void test_aws_chain_roles(void)
{
    struct lf_aws_shared_config *cfg = parse_chains();
    struct lf_aws_chain chain;
    char err[256] = "";

    LF_CHECK_INT_EQ(
        lf_aws_shared_config_resolve(cfg, "app", &chain, err, sizeof(err)), 0);
    LF_CHECK_STR_EQ(err, "");
    LF_CHECK_INT_EQ(chain.source, LF_AWS_CHAIN_KEYS);
    LF_CHECK_STR_EQ(chain.base.name, "base");
    LF_CHECK_STR_EQ(chain.base.aws_access_key_id, "AKIDBASE");
    LF_CHECK_INT_EQ(chain.role_count, 2);
    LF_CHECK_STR_EQ(chain.roles[0].profile, "hop");
    LF_CHECK_STR_EQ(chain.roles[0].role_arn, "arn:aws:iam::1:role/hop");
    LF_CHECK_STR_EQ(chain.roles[0].external_id, "ext-hop");
    LF_CHECK(chain.roles[0].role_session_name == NULL);
    LF_CHECK_STR_EQ(chain.roles[1].profile, "app");
    LF_CHECK_STR_EQ(chain.roles[1].role_arn, "arn:aws:iam::1:role/app");
    LF_CHECK_STR_EQ(chain.roles[1].role_session_name, "app-session");
    LF_CHECK(chain.roles[1].external_id == NULL);
    lf_aws_chain_cleanup(&chain);

    /* Selected, a profile with keys and role_arn assumes the role. */
    LF_CHECK_INT_EQ(
        lf_aws_shared_config_resolve(cfg, "self", &chain, err, sizeof(err)), 0);
    LF_CHECK_INT_EQ(chain.source, LF_AWS_CHAIN_KEYS);
    LF_CHECK_STR_EQ(chain.base.aws_access_key_id, "AKIDSELF");
    LF_CHECK_INT_EQ(chain.role_count, 1);
    LF_CHECK_STR_EQ(chain.roles[0].role_arn, "arn:aws:iam::1:role/self");
    lf_aws_chain_cleanup(&chain);

    LF_CHECK_INT_EQ(
        lf_aws_shared_config_resolve(cfg, "base", &chain, err, sizeof(err)), 0);
    LF_CHECK_INT_EQ(chain.role_count, 1);
    LF_CHECK_STR_EQ(chain.roles[0].role_arn,
                    "arn:aws:iam::1:role/ignored-in-a-source");
    lf_aws_chain_cleanup(&chain);
    lf_aws_shared_config_free(cfg);
}

static void test_aws_chain_sources(void)
{
    struct lf_aws_shared_config *cfg = parse_chains();
    struct lf_aws_chain chain;
    char err[256] = "";

    LF_CHECK_INT_EQ(
        lf_aws_shared_config_resolve(cfg, "via-ec2", &chain, err, sizeof(err)),
        0);
    LF_CHECK_INT_EQ(chain.source, LF_AWS_CHAIN_EC2_METADATA);
    LF_CHECK_INT_EQ(chain.role_count, 2);
    LF_CHECK_STR_EQ(chain.roles[0].role_arn, "arn:aws:iam::1:role/ec2");
    LF_CHECK_STR_EQ(chain.roles[1].role_arn, "arn:aws:iam::1:role/outer");
    lf_aws_chain_cleanup(&chain);

    LF_CHECK_INT_EQ(
        lf_aws_shared_config_resolve(cfg, "process", &chain, err, sizeof(err)),
        0);
    LF_CHECK_INT_EQ(chain.source, LF_AWS_CHAIN_PROCESS);
    LF_CHECK_STR_EQ(chain.base.credential_process,
                    "/usr/bin/creds --profile \"a b\"");
    LF_CHECK_INT_EQ(chain.role_count, 0);
    lf_aws_chain_cleanup(&chain);

    LF_CHECK_INT_EQ(lf_aws_shared_config_resolve(cfg, "keys-and-process",
                                                 &chain, err, sizeof(err)),
                    0);
    LF_CHECK_INT_EQ(chain.source, LF_AWS_CHAIN_KEYS);
    lf_aws_chain_cleanup(&chain);

    LF_CHECK_INT_EQ(lf_aws_shared_config_resolve(cfg, "via-process", &chain,
                                                 err, sizeof(err)),
                    0);
    LF_CHECK_INT_EQ(chain.source, LF_AWS_CHAIN_PROCESS);
    LF_CHECK_STR_EQ(chain.base.name, "process");
    LF_CHECK_INT_EQ(chain.role_count, 1);
    lf_aws_chain_cleanup(&chain);

    LF_CHECK_INT_EQ(lf_aws_shared_config_resolve(cfg, "region-only", &chain,
                                                 err, sizeof(err)),
                    LF_ENOENT);
    LF_CHECK_INT_EQ(
        lf_aws_shared_config_resolve(cfg, "absent", &chain, err, sizeof(err)),
        LF_ENOENT);
    lf_aws_shared_config_free(cfg);
}

static void check_chain_error(struct lf_aws_shared_config *cfg,
                              const char *name, const char *expected)
{
    struct lf_aws_chain chain;
    char err[512] = "";

    LF_CHECK_INT_EQ(
        lf_aws_shared_config_resolve(cfg, name, &chain, err, sizeof(err)),
        LF_ECONFIG);
    LF_CHECK_STR_EQ(err, expected);
    LF_CHECK_INT_EQ(chain.role_count, 0);
    LF_CHECK(chain.base.name == NULL);
}

static void test_aws_chain_errors(void)
{
    struct lf_aws_shared_config *cfg = parse_chains();

    check_chain_error(cfg, "loop-a",
                      "AWS profiles form a source_profile loop: loop-a -> "
                      "loop-b -> loop-c -> loop-a; end the chain at a "
                      "profile with keys, credential_process or "
                      "credential_source");
    check_chain_error(cfg, "loop-b",
                      "AWS profiles form a source_profile loop: loop-b -> "
                      "loop-c -> loop-a -> loop-b; end the chain at a "
                      "profile with keys, credential_process or "
                      "credential_source");
    check_chain_error(cfg, "self-loop",
                      "AWS profiles form a source_profile loop: self-loop -> "
                      "self-loop; end the chain at a profile with keys, "
                      "credential_process or credential_source");
    check_chain_error(cfg, "bad-source",
                      "profile \"bad-source\" has credential_source \"Ec2\", "
                      "which is not valid; use Environment, "
                      "Ec2InstanceMetadata or EcsContainer");
    check_chain_error(cfg, "both",
                      "profile \"both\" has both source_profile and "
                      "credential_source; keep one of them");
    check_chain_error(cfg, "neither",
                      "profile \"neither\" has role_arn but neither "
                      "source_profile nor credential_source; add one of "
                      "them");
    check_chain_error(cfg, "missing-source",
                      "profile \"missing-source\" names source_profile "
                      "\"nowhere\", which does not exist; add that profile "
                      "or fix the name");
    check_chain_error(cfg, "empty-source",
                      "source_profile \"region-only\" of profile "
                      "\"empty-source\" has no aws_access_key_id, role_arn "
                      "or credential_process; add one of them");
    check_chain_error(cfg, "web",
                      "profile \"web\" uses web_identity_token_file, which "
                      "logferry does not read; set "
                      "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN instead");
    lf_aws_shared_config_free(cfg);
}

int main(void)
{
    LF_RUN(test_aws_profile_default);
    LF_RUN(test_aws_profile_credentials_win);
    LF_RUN(test_aws_profile_config_sections);
    LF_RUN(test_aws_profile_not_found);
    LF_RUN(test_aws_profile_repeated_keys);
    LF_RUN(test_aws_profile_syntax_errors);
    LF_RUN(test_aws_profile_error_hides_secret);
    LF_RUN(test_aws_profile_incomplete_keys);
    LF_RUN(test_aws_profile_select);
    LF_RUN(test_aws_profile_paths);
    LF_RUN(test_aws_profile_load_files);
    LF_RUN(test_aws_chain_roles);
    LF_RUN(test_aws_chain_sources);
    LF_RUN(test_aws_chain_errors);
    return lf_test_end();
}
