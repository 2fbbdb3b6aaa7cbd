#!/usr/bin/env bash
# The full benchmark, rerunnable by anyone from a fresh clone on a machine with PostgreSQL:
# builds release, seeds a PostgreSQL database, starts the suite as separate processes (as in
# Kubernetes: customers, gateway) and the two floor servers, measures the floors right before
# every scenario, records footprint, stops everything it started, and appends a dated section
# to BENCHMARKS.md.
#
# Settings (environment): BENCH_CUSTOMERS (1000000), BENCH_DURATION (10s), BENCH_WARMUP (3s),
# BENCH_CONCURRENCY (32), BENCH_RATE (open-loop rate, 1000/s), BENCH_PG (admin URL,
# postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS (redis://127.0.0.1:6379),
# BENCH_EVENTS (20000), BENCH_EVENTS_RATE (500/s), BENCH_NO_WRITE=1 to print instead of appending.
# For a quick look at some scenarios: BENCH_ONLY="search-customers create-customer" runs just
# those against the suite and prints their results (nothing is appended), and BENCH_SKIP_SEED=1
# reuses the database of an earlier run. BENCH_PERF=1 (with BENCH_ONLY) records a system-wide
# CPU profile (perf) of the first 15 s of the backfill and of the scenarios, and prints where
# the time went by process and function.
set -euo pipefail
cd "$(dirname "$0")/.."

customers=${BENCH_CUSTOMERS:-1000000}
duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-3s}
concurrency=${BENCH_CONCURRENCY:-32}
rate=${BENCH_RATE:-1000}
pg_admin=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
redis=${BENCH_REDIS:-redis://127.0.0.1:6379}
events=${BENCH_EVENTS:-20000}
events_rate=${BENCH_EVENTS_RATE:-500}
db_name=crm_bench
db_url="${pg_admin%/*}/$db_name"
identity_url="${pg_admin%/*}/${db_name}_identity"
admin_password=bench-root-password-2026
export RUST_BACKTRACE=0 CRM_LOG=warn

echo "bench: building release" >&2
cargo build --release --workspace --quiet
bin=${CARGO_TARGET_DIR:-target}/release
out=$(mktemp -d)
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all EXIT

wait_http() {
  for _ in $(seq 100); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench: $1 did not come up" >&2
  exit 1
}
rss_kb() { awk "/^$2:/ {print \$2}" "/proc/$1/status"; }

seed_s=0
if [ "${BENCH_SKIP_SEED:-0}" != 1 ]; then
  echo "bench: seeding $customers customers into $db_name" >&2
  psql "$pg_admin" -q -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" -c "CREATE DATABASE $db_name" \
    -c "DROP DATABASE IF EXISTS ${db_name}_identity WITH (FORCE)" -c "CREATE DATABASE ${db_name}_identity"
  seed_start=$(date +%s.%N)
  "$bin/crm" bench seed --database-url "$db_url" --customers "$customers" 2>"$out/seed.log"
  seed_s=$(awk "BEGIN {printf \"%.3f\", $(date +%s.%N) - $seed_start}")
fi

echo "bench: starting the suite and the floors" >&2
export CRM_AUTH__IDENTITY_URL=http://127.0.0.1:51052
CRM_IDENTITY__DATABASE_URL="$identity_url" CRM_IDENTITY__LISTEN=127.0.0.1:51052 CRM_ADMIN__LISTEN=127.0.0.1:51466 \
  CRM_IDENTITY__SIGNING_KEY_FILE="$out/signing.key" CRM_ADMIN_PASSWORD="$admin_password" \
  "$bin/crm" serve identity >/dev/null & identity_pid=$!; pids+=("$identity_pid")
key() { head -c 32 /dev/urandom | base64; }
printf '{"keys": {"k1": "%s"}, "current": "k1", "index_key": "%s"}\n' "$(key)" "$(key)" >"$out/customers-keys.json"
CRM_CUSTOMERS__DATABASE_URL="$db_url" CRM_CUSTOMERS__LISTEN=127.0.0.1:51051 CRM_ADMIN__LISTEN=127.0.0.1:51464 \
  CRM_CUSTOMERS__KEY_FILE="$out/customers-keys.json" CRM_BUS__REDIS_URL="$redis" "$bin/crm" serve customers & customers_pid=$!; pids+=("$customers_pid")
CRM_GATEWAY__LISTEN=127.0.0.1:51080 CRM_GATEWAY__UPSTREAMS__CUSTOMERS=http://127.0.0.1:51051 \
  CRM_GATEWAY__UPSTREAMS__IDENTITY=http://127.0.0.1:51052 CRM_ADMIN__LISTEN=127.0.0.1:51465 \
  "$bin/crm" serve gateway & gateway_pid=$!; pids+=("$gateway_pid")
"$bin/floor-echo" 127.0.0.1:51091 & pids+=($!)
DATABASE_URL="$db_url" "$bin/floor-pg" 127.0.0.1:51092 & pids+=($!)
wait_http http://127.0.0.1:51464/readyz
wait_http http://127.0.0.1:51080/readyz
wait_http http://127.0.0.1:51466/readyz
# The seed writes customers only: the service then builds their search documents and duplicate
# keys in the background. Measuring while it does would measure the backfill, so wait for it
# (crm_customers_backfill_remaining reaches 0) and report how long it took.
echo "bench: waiting for the backfill of derived data" >&2
backfill_start=$(date +%s.%N)
profile() { # name seconds: a system-wide profile of the next seconds
  perf record -a -g -F 299 -o "$out/$1.perf" -- sleep "$2" >/dev/null 2>&1 || true
  # Only the suite's threads (tokio-rt-worker, crm) and PostgreSQL: other work on the machine
  # is left out of the shares.
  perf report -i "$out/$1.perf" --no-children --comms tokio-rt-worker,crm,postgres --sort comm,sym \
    --percent-limit 1.5 --stdio 2>/dev/null \
    | grep -E '^ +[0-9]' | head -40 >"$out/$1.txt" || true
  echo "bench: profile $1 in $out/$1.txt" >&2
}
[ "${BENCH_PERF:-0}" = 1 ] && profile backfill 15
until [ "$(curl -fs http://127.0.0.1:51464/metrics | awk '/^crm_customers_backfill_remaining / {print $2}')" = 0 ]; do
  sleep 1
done
backfill_s=$(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $backfill_start}")
echo "bench: backfill done in ${backfill_s} s" >&2
# Every scenario runs as the administrator (a token per request is part of the cost measured).
CRM_BENCH_TOKEN=$(curl -fs -X POST http://127.0.0.1:51080/api/v1/auth/login \
  -d "{\"login_name\": \"admin\", \"password\": \"$admin_password\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
export CRM_BENCH_TOKEN
sleep 1
idle_customers=$(rss_kb "$customers_pid" VmRSS)
idle_gateway=$(rss_kb "$gateway_pid" VmRSS)

run() { # label target json scenario... (extra flags via $extra)
  local label=$1 target=$2 json=$3; shift 3
  "$bin/crm" bench run "$@" --target "$target" --ids-from http://127.0.0.1:51080 --duration "$duration" \
    --warmup "$warmup" --concurrency "$concurrency" --quiet --json "$out/$json" ${label:+--label "$label"} >&2
}

if [ -n "${BENCH_ONLY:-}" ]; then
  # shellcheck disable=SC2086 # a list of scenarios
  if [ "${BENCH_PERF:-0}" = 1 ]; then
    profile scenarios "$(( ${duration%s} + ${warmup%s} ))" &
    perf_job=$!
  fi
  run "" http://127.0.0.1:51080 only.json $BENCH_ONLY
  [ -n "${perf_job:-}" ] && wait "$perf_job"
  python3 -c 'import json,sys; [print(json.dumps(r)) for r in json.load(open(sys.argv[1]))]' "$out/only.json" 2>/dev/null \
    || cat "$out/only.json"
  exit 0
fi
echo "bench: floors" >&2
run floor-echo http://127.0.0.1:51091 floor-echo.json get-customer
run floor-pg http://127.0.0.1:51092 floor-pg.json get-customer
echo "bench: suite" >&2
run "" http://127.0.0.1:51080 suite.json get-customer get-customer-rest list-customers list-customers-rest search-customers mixed
run "get-customer @${rate}/s" http://127.0.0.1:51080 open.json get-customer --rate "$rate"
run "" http://127.0.0.1:51080 create.json create-customer
peak_customers=$(rss_kb "$customers_pid" VmHWM)
peak_gateway=$(rss_kb "$gateway_pid" VmHWM)
stop_all
pids=()

echo "bench: event backbone" >&2
psql "$pg_admin" -q -c "DROP DATABASE IF EXISTS ${db_name}_events WITH (FORCE)" -c "CREATE DATABASE ${db_name}_events"
"$bin/crm" bench events --database-url "${pg_admin%/*}/${db_name}_events" --redis-url "$redis" \
  --events "$events" --rate "$events_rate" --duration "$duration" --json "$out/events.json" >&2
"$bin/crm" bench events --database-url "${pg_admin%/*}/${db_name}_events" --redis-url "$redis" \
  --events "$events" --consumers 4 --rate "$events_rate" --duration 3s --json "$out/events4.json" >&2

echo "bench: crm dev start-up" >&2
CRM_BIN="$bin/crm" python3 bench/dev_ready.py >"$out/dev_ready.txt"
"$bin/crm" bench auth --calls 100000 >"$out/auth.txt"

cat >"$out/meta.json" <<JSON
{"customers": $customers, "seed_s": $seed_s, "backfill_s": $backfill_s, "concurrency": $concurrency, "duration": "$duration",
 "warmup": "$warmup", "rate": $rate,
 "commit": "$(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')",
 "cpu": "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)", "cores": $(nproc),
 "mem_gib": $(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo),
 "postgres": "$(psql "$pg_admin" -tAc 'show server_version')",
 "rss_kb": {"customers_idle": $idle_customers, "customers_peak": $peak_customers,
            "gateway_idle": $idle_gateway, "gateway_peak": $peak_gateway},
 "binary_bytes": $(stat -c %s "$bin/crm")}
JSON
if [ "${BENCH_NO_WRITE:-0}" = 1 ]; then
  python3 bench/report.py "$out"
else
  python3 bench/report.py "$out" >>BENCHMARKS.md
  echo "bench: appended to BENCHMARKS.md (raw results in $out)" >&2
fi
