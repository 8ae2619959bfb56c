#!/bin/sh
# Stands in for an application. Every 200 ms, appends a line in the
# format of logferry's `app` preset to /var/log/app/app.log (or to the
# file in APP_LOG). Past 10 MiB, renames the file to app.log.1, which is
# rename rotation.
set -eu
# As PID 1 of its container, sh would ignore SIGTERM without a trap.
trap 'exit 0' TERM INT

log=${APP_LOG:-/var/log/app/app.log}
txn=0

while :; do
    txn=$((txn + 1))
    route=$(shuf -n 1 -e /api/tasks /api/tasks/42 /api/tasks/7/redeem \
        /api/users/1001 /healthz)
    method=$(shuf -n 1 -e GET GET GET POST PUT DELETE)
    took=$(shuf -i 1-900 -n 1)
    # One line in ten is an error.
    if [ "$(shuf -i 1-10 -n 1)" -eq 1 ]; then
        level=ERROR
        status=503
    else
        level=INFO
        status=200
    fi
    printf '%s %s [txn=%08x] %s %s %s %sms\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$level" "$txn" \
        "$method" "$route" "$status" "$took" >>"$log"
    if [ "$(stat -c %s "$log")" -gt 10485760 ]; then
        mv "$log" "$log.1"
    fi
    sleep 0.2
done
