#!/usr/bin/env bash
# REST vs gRPC through the gateway, for two builds on one database: `bench/rest_edge.sh BEFORE
# AFTER` runs GetCustomer and ListCustomers over gRPC and REST against a suite (identity,
# customers, gateway as separate processes, as in Kubernetes) of each binary in turn, on the same
# seeded PostgreSQL database, and prints one table per binary. Used for issue 13 (the REST edge
# transcoded from annotations must cost at most 5% of REST throughput against the hand-written
# one). Settings: BENCH_CUSTOMERS (100000), BENCH_DURATION (10s), BENCH_WARMUP (3s),
# BENCH_CONCURRENCY (32), BENCH_PG (postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:?usage: bench/rest_edge.sh BEFORE_BINARY AFTER_BINARY}
after=${2:?usage: bench/rest_edge.sh BEFORE_BINARY AFTER_BINARY}
customers=${BENCH_CUSTOMERS:-100000}
duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-3s}
concurrency=${BENCH_CONCURRENCY:-32}
pg_admin=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
db_url="${pg_admin%/*}/crm_rest_edge"
identity_url="${pg_admin%/*}/crm_rest_edge_identity"
password=bench-root-password-2026
export RUST_BACKTRACE=0 CRM_LOG=warn CRM_AUTH__IDENTITY_URL=http://127.0.0.1:52052
out=$(mktemp -d)
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}
trap stop_all EXIT
wait_http() {
  for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench: $1 did not come up" >&2
  exit 1
}

psql "$pg_admin" -q -c "DROP DATABASE IF EXISTS crm_rest_edge WITH (FORCE)" -c "CREATE DATABASE crm_rest_edge" \
  -c "DROP DATABASE IF EXISTS crm_rest_edge_identity WITH (FORCE)" -c "CREATE DATABASE crm_rest_edge_identity"
"$before" bench seed --database-url "$db_url" --customers "$customers" 2>"$out/seed.log"
key() { head -c 32 /dev/urandom | base64; }
printf '{"keys": {"k1": "%s"}, "current": "k1", "index_key": "%s"}\n' "$(key)" "$(key)" >"$out/keys.json"

for bin in "$before" "$after"; do
  CRM_IDENTITY__DATABASE_URL="$identity_url" CRM_IDENTITY__LISTEN=127.0.0.1:52052 CRM_ADMIN__LISTEN=127.0.0.1:52466 \
    CRM_IDENTITY__SIGNING_KEY_FILE="$out/signing.key" CRM_ADMIN_PASSWORD="$password" \
    "$bin" serve identity >/dev/null & pids+=($!)
  CRM_CUSTOMERS__DATABASE_URL="$db_url" CRM_CUSTOMERS__LISTEN=127.0.0.1:52051 CRM_ADMIN__LISTEN=127.0.0.1:52464 \
    CRM_CUSTOMERS__KEY_FILE="$out/keys.json" "$bin" serve customers >/dev/null & pids+=($!)
  CRM_GATEWAY__LISTEN=127.0.0.1:52080 CRM_GATEWAY__UPSTREAMS__CUSTOMERS=http://127.0.0.1:52051 \
    CRM_GATEWAY__UPSTREAMS__IDENTITY=http://127.0.0.1:52052 CRM_ADMIN__LISTEN=127.0.0.1:52465 \
    "$bin" serve gateway >/dev/null & pids+=($!)
  wait_http http://127.0.0.1:52464/readyz
  wait_http http://127.0.0.1:52466/readyz
  wait_http http://127.0.0.1:52080/readyz
  CRM_BENCH_TOKEN=$(curl -fs -X POST http://127.0.0.1:52080/api/v1/auth/login \
    -d "{\"login_name\": \"admin\", \"password\": \"$password\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  export CRM_BENCH_TOKEN
  echo "== $bin" 
  "$after" bench run get-customer get-customer-rest list-customers list-customers-rest \
    --target http://127.0.0.1:52080 --ids-from http://127.0.0.1:52080 --duration "$duration" \
    --warmup "$warmup" --concurrency "$concurrency"
  stop_all
done
