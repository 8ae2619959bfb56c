#!/usr/bin/env bash
# Installs what is missing, builds logferry, ships the bundled example logs
# (an application log and an nginx access log) and prints the ERROR
# documents that arrived, grouped by route.
#
# Without ES_URL the logs go to a local Elasticsearch stand-in that this
# script starts on 127.0.0.1 and stops at the end, with a scratch copy of
# the logs and registry that is removed too. With ES_URL set (for example
# ES_URL=http://localhost:9200) they go to that cluster, and the copy and
# registry are kept in build/demo/ so that a second run sends nothing
# twice.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source tests/deps.sh
lf_install_missing "${LF_BUILD_PACKAGES[@]}" python3

echo "Building logferry in build/"
if [ ! -f build/build.ninja ]; then
    meson setup build >/dev/null
fi
if ! ninja -C build -j2 >build/demo-build.log 2>&1; then
    tail -n 40 build/demo-build.log
    exit 1
fi
echo "Built $(build/agent/logferry --version)"

standin_pid=""
work=""
cleanup() {
    if [ -n "$standin_pid" ]; then
        kill "$standin_pid" 2>/dev/null || true
        wait "$standin_pid" 2>/dev/null || true
    fi
    if [ -z "${ES_URL_GIVEN:-}" ] && [ -n "$work" ]; then
        rm -rf "$work"
    fi
}
trap cleanup EXIT

if [ -n "${ES_URL:-}" ]; then
    ES_URL_GIVEN=1
    work="$root/build/demo"
    mkdir -p "$work"
else
    work=$(mktemp -d /tmp/logferry-demo-XXXXXX)
    python3 tests/standin/es_standin.py --port 0 \
        --port-file "$work/port" >"$work/standin.log" 2>&1 &
    standin_pid=$!
    for _ in $(seq 100); do
        [ -s "$work/port" ] && break
        sleep 0.05
    done
    ES_URL="http://127.0.0.1:$(cat "$work/port")"
    echo "Started an Elasticsearch stand-in at $ES_URL"
fi
export ES_URL

# Copy the logs once: a new copy is a new file with new document ids.
if [ ! -d "$work/logs" ]; then
    cp -r examples/logs "$work/"
fi
cp examples/logferry.yml "$work/"
echo "Shipping examples/logs/app.log and examples/logs/nginx-access.log" \
    "to $ES_URL"
if ! (cd "$work" && "$root/build/agent/logferry" -c logferry.yml --once); then
    echo "logferry could not deliver everything to $ES_URL (see the log" \
        "above); check that the cluster is reachable without credentials."
    exit 1
fi

python3 - "$ES_URL" <<'PY'
import collections, json, sys, urllib.request

url = sys.argv[1].rstrip("/")
index = "logs-app-default"

def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)

call("POST", f"/{index}/_refresh")
total = call("POST", f"/{index}/_count", {"query": {"match_all": {}}})
found = call("POST", f"/{index}/_search",
             {"query": {"term": {"log.level": "error"}}, "size": 10000})
hits = [h["_source"] for h in found["hits"]["hits"]]

by_route = collections.defaultdict(list)
for doc in hits:
    route = doc.get("url", {}).get("path", "(no route)")
    by_route[route].append(doc)

print(f"\n{total['count']} documents in {index}, {len(hits)} with "
      f"log.level: error\n")
print(f"{'route':<32} {'errors':>6}  latest transaction.id")
for route, docs in sorted(by_route.items(), key=lambda kv: -len(kv[1])):
    docs.sort(key=lambda d: d.get("@timestamp", ""))
    txn = docs[-1].get("transaction", {}).get("id", "-")
    print(f"{route:<32} {len(docs):>6}  {txn}")

if hits:
    print("\nOne of them, as stored:")
    print(json.dumps(hits[0], indent=2, sort_keys=True))
PY
