/*
 * Command line: parses options, loads the configuration and runs the
 * agent, or only validates the configuration with `test config`, or
 * prints the documents of lines read on standard input with `parse`.
 */
#include "agent/agent.h"
#include "agent/config/config.h"
#include "agent/config/config_secrets.h"
#include "agent/dlq_command.h"
#include "agent/net/http_client.h"
#include "agent/parse_command.h"
#include "agent/registry_command.h"
#include "agent/test_output_command.h"
#include "lf/error.h"
#include "lf/log.h"
#include "lf_build_config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define DEFAULT_CONFIG_PATH "/etc/logferry/logferry.yml"

static void print_usage(FILE *out)
{
    fprintf(out,
            "Usage: logferry [-c FILE] [--once]\n"
            "       logferry test config [-c FILE]\n"
            "       logferry test output [-c FILE]\n"
            "       logferry parse [-c FILE] [--input ID] < LINES\n"
            "       logferry dlq list|replay [-c FILE]\n"
            "       logferry registry list [-c FILE] [--json]\n"
            "       logferry registry forget [-c FILE] PATH...\n"
            "       logferry --version | --help\n"
            "\n"
            "Tails log files, parses each line into Elastic Common Schema\n"
            "fields and ships the documents to Elasticsearch or CloudWatch\n"
            "Logs.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE  configuration file (default: %s)\n"
            "      --once         read every matched file to its end, ship\n"
            "                     it, wait for acknowledgements and exit\n"
            "      --input ID     with parse: the input whose parsers to use\n"
            "                     (needed when there are several)\n"
            "      --json         with registry list: one JSON object per\n"
            "                     entry\n"
            "  -V, --version      print the version and exit\n"
            "  -h, --help         print this help and exit\n"
            "\n"
            "Commands:\n"
            "  test config        validate the configuration and exit\n"
            "  test output        connect to each Elasticsearch host, print\n"
            "                     its version and whether the credentials\n"
            "                     may write to the index, and exit; for\n"
            "                     CloudWatch Logs, check the credentials\n"
            "                     and the log group\n"
            "  parse              read lines on standard input and print the\n"
            "                     document of each, as JSON, one per line\n"
            "  dlq list           print the documents Elasticsearch rejected\n"
            "                     for good, kept under path.data/dlq, one\n"
            "                     line each: time, index, status, error\n"
            "                     type, _id and reason\n"
            "  dlq replay         send them again with the same _id; those\n"
            "                     delivered are removed (stop the agent\n"
            "                     first)\n"
            "  registry list      print each file in the registry: path,\n"
            "                     identity, acknowledged offset, current\n"
            "                     size and lag in bytes\n"
            "  registry forget    remove the entries of the files at PATH,\n"
            "                     so that the next run reads them from the\n"
            "                     start (stop the agent first)\n"
            "\n"
            "Runs until SIGTERM or SIGINT, then stops reading, sends what\n"
            "is batched and saves the acknowledged offsets. SIGHUP reloads\n"
            "the configuration: inputs, processors and logging.level.\n"
            "\n"
            "Exit status: 0 success, 1 events could not be delivered or\n"
            "state could not be saved (with parse: a line matched no\n"
            "parser; with dlq replay: records are kept; with test\n"
            "output: no host passed every check), 2 invalid command\n"
            "line or configuration.\n",
            DEFAULT_CONFIG_PATH);
}

struct options {
    const char *config_path;
    const char *input_id;
    bool once;
    bool test_config;
    bool test_output;
    bool parse;
    const char *dlq; /* "list" or "replay", or NULL */
    const char *registry; /* "list" or "forget", or NULL */
    bool json;
    char **paths; /* the PATH arguments of registry forget */
    size_t path_count;
};

/* Reports what is wrong with the `argc` words from "dlq" on. */
static int dlq_usage_error(int argc, char **argv)
{
    if (argc == 1) {
        fprintf(stderr, "logferry: 'dlq' needs a subcommand: 'dlq list' "
                "or 'dlq replay'\n");
    } else if (strcmp(argv[1], "list") != 0 &&
               strcmp(argv[1], "replay") != 0) {
        fprintf(stderr, "logferry: unknown subcommand 'dlq %s'; expected "
                "'dlq list' or 'dlq replay'\n", argv[1]);
    } else {
        fprintf(stderr, "logferry: unexpected argument '%s' after 'dlq %s'\n",
                argv[2], argv[1]);
    }
    return LF_EXIT_USAGE;
}

/*
 * Parses the `argc` words from "registry" on. Returns -1 to continue, or
 * the exit code to stop with.
 */
static int parse_registry_command(int argc, char **argv,
                                  struct options *opts)
{
    if (argc == 1) {
        fprintf(stderr, "logferry: 'registry' needs a subcommand: "
                "'registry list' or 'registry forget PATH...'\n");
        return LF_EXIT_USAGE;
    }
    if (strcmp(argv[1], "list") == 0) {
        if (argc > 2) {
            fprintf(stderr, "logferry: unexpected argument '%s' after "
                    "'registry list'\n", argv[2]);
            return LF_EXIT_USAGE;
        }
    } else if (strcmp(argv[1], "forget") == 0) {
        if (argc == 2) {
            fprintf(stderr, "logferry: 'registry forget' needs the path "
                    "of at least one file\n");
            return LF_EXIT_USAGE;
        }
        opts->paths = argv + 2;
        opts->path_count = (size_t)argc - 2;
    } else {
        fprintf(stderr, "logferry: unknown subcommand 'registry %s'; "
                "expected 'registry list' or 'registry forget'\n", argv[1]);
        return LF_EXIT_USAGE;
    }
    opts->registry = argv[1];
    return -1;
}

/* Returns -1 to continue, or the exit code to stop with. */
static int parse_options(int argc, char **argv, struct options *opts)
{
    static const struct option long_options[] = {
        {"config", required_argument, NULL, 'c'},
        {"once", no_argument, NULL, 'o'},
        {"input", required_argument, NULL, 'i'},
        {"json", no_argument, NULL, 'j'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opts->config_path = DEFAULT_CONFIG_PATH;
    opterr = 0; /* getopt's own messages name argv[0], not the program */
    while ((c = getopt_long(argc, argv, ":c:Vh", long_options, NULL)) != -1) {
        switch (c) {
        case 'c':
            opts->config_path = optarg;
            break;
        case 'o':
            opts->once = true;
            break;
        case 'i':
            opts->input_id = optarg;
            break;
        case 'j':
            opts->json = true;
            break;
        case 'V':
            printf("logferry %s\n", LF_VERSION);
            return LF_EXIT_OK;
        case 'h':
            print_usage(stdout);
            return LF_EXIT_OK;
        case ':':
            fprintf(stderr, "logferry: option '%s' requires a value. Run "
                    "'logferry --help' for usage.\n", argv[optind - 1]);
            return LF_EXIT_USAGE;
        default:
            fprintf(stderr, "logferry: unknown option '%s'. Run "
                    "'logferry --help' for usage.\n", argv[optind - 1]);
            return LF_EXIT_USAGE;
        }
    }

    if (optind < argc) {
        if (argc - optind == 2 && strcmp(argv[optind], "test") == 0 &&
            strcmp(argv[optind + 1], "config") == 0) {
            opts->test_config = true;
        } else if (argc - optind == 2 && strcmp(argv[optind], "test") == 0 &&
                   strcmp(argv[optind + 1], "output") == 0) {
            opts->test_output = true;
        } else if (argc - optind == 1 && strcmp(argv[optind], "parse") == 0) {
            opts->parse = true;
        } else if (argc - optind == 2 && strcmp(argv[optind], "dlq") == 0 &&
                   (strcmp(argv[optind + 1], "list") == 0 ||
                    strcmp(argv[optind + 1], "replay") == 0)) {
            opts->dlq = argv[optind + 1];
        } else if (strcmp(argv[optind], "dlq") == 0) {
            return dlq_usage_error(argc - optind, argv + optind);
        } else if (strcmp(argv[optind], "registry") == 0) {
            int rc = parse_registry_command(argc - optind, argv + optind,
                                            opts);
            if (rc >= 0) {
                return rc;
            }
        } else if (argc - optind == 1 && strcmp(argv[optind], "test") == 0) {
            fprintf(stderr, "logferry: 'test' needs a subcommand: 'test "
                    "config' or 'test output'\n");
            return LF_EXIT_USAGE;
        } else {
            fprintf(stderr, "logferry: unknown command '%s'; expected "
                    "'test config', 'test output', 'parse', 'dlq list', "
                    "'dlq replay', 'registry list' or 'registry forget'. "
                    "Run 'logferry --help' for usage.\n",
                    argv[optind]);
            return LF_EXIT_USAGE;
        }
    }
    if ((opts->test_config || opts->test_output || opts->parse ||
         opts->dlq != NULL || opts->registry != NULL) &&
        opts->once) {
        fprintf(stderr, "logferry: --once cannot be combined with '%s'\n",
                opts->parse              ? "parse"
                : opts->dlq != NULL      ? "dlq"
                : opts->registry != NULL ? "registry"
                : opts->test_output      ? "test output"
                                         : "test config");
        return LF_EXIT_USAGE;
    }
    if (opts->json && (opts->registry == NULL ||
                       strcmp(opts->registry, "list") != 0)) {
        fprintf(stderr, "logferry: --json applies only to 'registry "
                "list'\n");
        return LF_EXIT_USAGE;
    }
    if (opts->input_id != NULL && !opts->parse) {
        fprintf(stderr, "logferry: --input applies only to 'parse'\n");
        return LF_EXIT_USAGE;
    }
    return -1;
}

/*
 * Raises the soft limit on open descriptors to the hard limit: every
 * harvested file and every connection takes one, and the soft default of
 * 1024 is reached by hosts with many log files.
 */
static void raise_fd_limit(void)
{
    struct rlimit limit;

    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
        limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
            int rc = -errno;
            lf_log_warn("agent", "setrlimit(RLIMIT_NOFILE, %llu) failed: %s "
                        "(%s); the open file limit stays at %llu",
                        (unsigned long long)limit.rlim_max, lf_strerror(rc),
                        lf_err_name(rc),
                        (unsigned long long)limit.rlim_cur);
        }
    }
}

/*
 * Prints the line of `test config`: the file, the number of inputs and
 * the address of each configured output, which is the first Elasticsearch
 * host or the CloudWatch Logs endpoint.
 */
static void print_config_ok(const char *path, const struct lf_config *config)
{
    printf("Config OK: %s (%zu input%s", path, config->input_count,
           config->input_count == 1 ? "" : "s");
    if (config->use_elasticsearch) {
        printf(", output elasticsearch %s", config->es.hosts[0]);
    }
    if (config->use_cloudwatch) {
        printf(", output cloudwatch %s", config->cw.endpoint);
    }
    printf(")\n");
}

/* Prints each line of `warnings` to stderr, for `logferry test config`. */
static void print_secrets_warnings(const char *warnings)
{
    while (warnings != NULL && *warnings != '\0') {
        const char *end = strchr(warnings, '\n');
        int len = end != NULL ? (int)(end - warnings) : (int)strlen(warnings);

        fprintf(stderr, "logferry: warning: %.*s\n", len, warnings);
        warnings = end != NULL ? end + 1 : NULL;
    }
}

/* Runs the agent with its log set up as `logging` configures it. */
static int run_agent(const struct lf_config *config, bool once)
{
    char errbuf[1024];
    int rc;

    if (lf_log_configure(&config->logging, errbuf, sizeof(errbuf)) != 0) {
        fprintf(stderr, "logferry: %s\n", errbuf);
        lf_log_shutdown();
        return LF_EXIT_USAGE;
    }
    lf_config_log_secrets(config->secrets_warning);
    rc = lf_agent_run(config, once);
    lf_log_shutdown();
    return rc;
}

int main(int argc, char **argv)
{
    struct lf_config config;
    struct options opts = {0};
    char errbuf[1024];
    int rc;

    lf_agent_defer_sighup();
    rc = parse_options(argc, argv, &opts);
    if (rc >= 0) {
        return rc;
    }

    memset(&config, 0, sizeof(config));
    if (lf_config_load(opts.config_path, &config, errbuf, sizeof(errbuf)) !=
        0) {
        fprintf(stderr, "logferry: %s\n", errbuf);
        lf_config_cleanup(&config);
        return LF_EXIT_USAGE;
    }
    if (opts.test_config) {
        print_secrets_warnings(config.secrets_warning);
        print_config_ok(opts.config_path, &config);
        lf_config_cleanup(&config);
        return LF_EXIT_OK;
    }
    if (opts.parse) {
        rc = lf_parse_command(&config, opts.input_id, STDIN_FILENO, stdout,
                              stderr);
        lf_config_cleanup(&config);
        return rc;
    }

    if (opts.dlq != NULL && strcmp(opts.dlq, "list") == 0) {
        rc = lf_dlq_list_command(&config, stdout, stderr);
        lf_config_cleanup(&config);
        return rc;
    }

    if (opts.registry != NULL && strcmp(opts.registry, "list") == 0) {
        rc = lf_registry_list_command(&config, opts.json, stdout, stderr);
        lf_config_cleanup(&config);
        return rc;
    }
    if (opts.registry != NULL) {
        rc = lf_registry_forget_command(&config, opts.paths, opts.path_count,
                                        stdout, stderr);
        lf_config_cleanup(&config);
        return rc;
    }

    lf_log_set_level(config.log_level);
    raise_fd_limit();
    if (lf_http_global_init() != 0) {
        fprintf(stderr, "logferry: initialising libcurl failed\n");
        lf_config_cleanup(&config);
        return LF_EXIT_FAILURE;
    }
    if (opts.dlq != NULL) {
        rc = lf_dlq_replay_command(&config, stdout, stderr);
    } else if (opts.test_output) {
        rc = lf_test_output_command(&config, stdout);
    } else {
        rc = run_agent(&config, opts.once);
    }
    lf_http_global_cleanup();
    lf_config_cleanup(&config);
    return rc;
}
