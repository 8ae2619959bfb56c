#!/bin/sh
# Imports the saved search "ERROR logs by route" and the data view it
# uses into Kibana with the Saved Objects import API, once Kibana
# responds. Existing objects with the same ids are replaced.
#
#   import-saved-search.sh [KIBANA_URL]    (default http://localhost:5601)
set -eu

kibana=${1:-http://localhost:5601}
here=$(cd "$(dirname "$0")" && pwd)
objects=$here/error-logs-by-route.ndjson

tries=0
until curl -fs -o /dev/null "$kibana/api/status"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "$0: Kibana at $kibana did not respond within 5 minutes;" \
             "check that it runs (docker compose logs kibana)" >&2
        exit 1
    fi
    sleep 5
done

# The reply is {"success":true,...} or lists the objects that failed.
reply=$(curl -fsS -X POST -H "kbn-xsrf: true" \
    --form "file=@$objects" \
    "$kibana/api/saved_objects/_import?overwrite=true")
echo "$reply"
case "$reply" in
*'"success":true'*)
    ;;
*)
    echo "$0: the import failed; the reply above names the objects" >&2
    exit 1
    ;;
esac
