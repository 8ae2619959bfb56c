#!/bin/sh
# Entry point of the logferry image. Runs the agent, or one of its
# commands, with the configuration in LOGFERRY_CONFIG unless the
# arguments name one with -c or --config:
#
#   (no arguments)         logferry -c "$LOGFERRY_CONFIG"
#   -X ...                 logferry [-c "$LOGFERRY_CONFIG"] -X ...
#   test|parse|dlq|registry ...
#                          logferry test|parse|dlq|registry ... [-c ...]
#   anything else          run as given, such as `sh`
#
# The configuration reads its settings from the environment itself
# (${NAME:-default}), so nothing is rendered and the image works with a
# read-only root file system. The agent replaces this shell (exec), so
# it is the process that receives SIGTERM from the container runtime.
set -eu

config=${LOGFERRY_CONFIG:-/etc/logferry/logferry.yml}

has_config_option()
{
    for arg in "$@"; do
        case "$arg" in
        -c|--config|--config=*|-c?*)
            return 0
            ;;
        esac
    done
    return 1
}

if [ $# -eq 0 ]; then
    set -- -c "$config"
    exec logferry "$@"
fi

case "$1" in
-*)
    if ! has_config_option "$@"; then
        set -- -c "$config" "$@"
    fi
    exec logferry "$@"
    ;;
test|parse|dlq|registry)
    if ! has_config_option "$@"; then
        set -- "$@" -c "$config"
    fi
    exec logferry "$@"
    ;;
*)
    exec "$@"
    ;;
esac
