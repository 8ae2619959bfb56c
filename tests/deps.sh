#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing logferry need,
# when any is missing. Sourced by tests/run and examples/demo.sh.

# python3 turns the grok pattern files into a C table at build time.
LF_BUILD_PACKAGES=(
    meson ninja-build pkg-config gcc
    libuv1-dev libcurl4-openssl-dev libssl-dev libjansson-dev libpcre2-dev
    python3 zlib1g-dev libdeflate-dev libyaml-dev libisal-dev
)
# Tests drive a real nginx and Python programs. setpriv, unshare and
# nsenter (util-linux) run the agent as another user or in a user
# namespace, and strace counts the wake-ups of an idle agent. tzdata
# holds the zone files that `timezone: Europe/Berlin` reads, and
# faketime sets the agent's clock for the year inference tests, and
# openssl makes the certificates of the TLS tests. python3-botocore
# checks SigV4 signatures in the CloudWatch Logs stand-in. prometheus
# provides `promtool check metrics` for the /metrics output, and
# `promtool check rules` and `promtool test rules` for
# packaging/prometheus.
# The packaging test builds the .deb with dpkg-dev (dpkg-shlibdeps) and
# binutils (strip), checks the unit with systemd's systemd-analyze, the
# man page with groff-base, and reads the compose file with python3-yaml.
# It copies /bin/kill (procps) into the root that systemd-analyze
# verifies, and runs the image's health check, which uses curl.
LF_TEST_PACKAGES=(nginx-light python3 util-linux strace tzdata faketime
    openssl python3-botocore prometheus dpkg-dev binutils systemd
    groff-base python3-yaml procps curl)

lf_install_missing() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
            grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    echo "Installing missing packages: ${missing[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    $sudo apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
            --no-install-recommends "${missing[@]}"
}
