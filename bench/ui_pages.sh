#!/usr/bin/env bash
# The web UI's speed and weight, for one binary: `bench/ui_pages.sh [BINARY]` (default
# $CARGO_TARGET_DIR/release/crm) seeds its own PostgreSQL database, starts a suite (identity,
# customers, gateway as separate processes, as in Kubernetes), signs in through the sign-in form
# and prints:
#   1. server time per page: `crm bench run ui-customers-list ui-customer-detail` (whole HTML
#      pages with the session cookie), next to the gRPC get-customer and list-customers the pages
#      call, as the floor;
#   2. page weights: HTML bytes of /customers, /customers/{id}, / and /settings, and the gzipped
#      (gzip -9) size of every JavaScript asset the pages link;
#   3. paint and load times in headless Chromium at 390 × 844 with the CPU slowed 4×
#      (bench/ui_paint.mjs; needs node and playwright-core in $HOME/.cache/crm-tools:
#      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix $HOME/.cache/crm-tools
#      playwright-core@1.65.2; it drives Debian's /usr/bin/chromium).
# Targets of the web UI issue: p99 <= 30 ms per page with 1,000,000 customers at 16 users;
# FCP <= 500 ms and load <= 1 s; JavaScript <= 50 KB gzipped in total; no page over 150 KB.
# Settings: BENCH_CUSTOMERS (1000000), BENCH_DURATION (15s), BENCH_WARMUP (3s),
# BENCH_CONCURRENCY (16), BENCH_PG (postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_SKIP_SEED=1 (reuse the database of the last run), UI_PAINT_RUNS (10),
# UI_PAINT_CPU_SLOWDOWN (4), UI_PAINT_DPR (3).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-${CARGO_TARGET_DIR:-target}/release/crm}
customers=${BENCH_CUSTOMERS:-1000000}
duration=${BENCH_DURATION:-15s}
warmup=${BENCH_WARMUP:-3s}
concurrency=${BENCH_CONCURRENCY:-16}
pg_admin=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
db_url="${pg_admin%/*}/crm_ui_bench"
identity_url="${pg_admin%/*}/crm_ui_bench_identity"
password=bench-root-password-2026
origin=http://127.0.0.1:53080
tools=${CRM_TOOLS:-$HOME/.cache/crm-tools}
# Access tokens live an hour, so the one session cookie outlasts the run (the gateway would
# otherwise refresh it on every request once it nears expiry, and the bench cannot store the
# renewed cookie).
export RUST_BACKTRACE=0 CRM_LOG=warn CRM_AUTH__IDENTITY_URL=http://127.0.0.1:53052 \
  CRM_IDENTITY__ACCESS_TTL_SECONDS=3600
[ -x "$bin" ] || { echo "bench: no binary at $bin" >&2; exit 1; }
out=$(mktemp -d)
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}
trap 'stop_all; rm -rf "$out"' EXIT
wait_http() {
  for _ in $(seq 200); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench: $1 did not come up" >&2
  exit 1
}
elapsed() { echo "$(($(date +%s) - $1)) s"; }

echo "== $bin ($(uptime | sed 's/.*load average/load average/'))"
if [ "${BENCH_SKIP_SEED:-0}" != 1 ]; then
  psql "$pg_admin" -q -c "DROP DATABASE IF EXISTS crm_ui_bench WITH (FORCE)" -c "CREATE DATABASE crm_ui_bench" \
    -c "DROP DATABASE IF EXISTS crm_ui_bench_identity WITH (FORCE)" -c "CREATE DATABASE crm_ui_bench_identity"
  started=$(date +%s)
  "$bin" bench seed --database-url "$db_url" --customers "$customers" 2>"$out/seed.log" \
    || { cat "$out/seed.log" >&2; exit 1; }
  tail -1 "$out/seed.log"
  echo "seeding $customers customers took $(elapsed "$started")"
fi
key() { head -c 32 /dev/urandom | base64; }
printf '{"keys": {"k1": "%s"}, "current": "k1", "index_key": "%s"}\n' "$(key)" "$(key)" >"$out/keys.json"

CRM_IDENTITY__DATABASE_URL="$identity_url" CRM_IDENTITY__LISTEN=127.0.0.1:53052 CRM_ADMIN__LISTEN=127.0.0.1:53466 \
  CRM_IDENTITY__SIGNING_KEY_FILE="$out/signing.key" CRM_ADMIN_PASSWORD="$password" \
  "$bin" serve identity >"$out/identity.log" 2>&1 & pids+=($!)
CRM_CUSTOMERS__DATABASE_URL="$db_url" CRM_CUSTOMERS__LISTEN=127.0.0.1:53051 CRM_ADMIN__LISTEN=127.0.0.1:53464 \
  CRM_CUSTOMERS__KEY_FILE="$out/keys.json" "$bin" serve customers >"$out/customers.log" 2>&1 & pids+=($!)
CRM_GATEWAY__LISTEN=127.0.0.1:53080 CRM_GATEWAY__UPSTREAMS__CUSTOMERS=http://127.0.0.1:53051 \
  CRM_GATEWAY__UPSTREAMS__IDENTITY=http://127.0.0.1:53052 CRM_ADMIN__LISTEN=127.0.0.1:53465 \
  "$bin" serve gateway >"$out/gateway.log" 2>&1 & pids+=($!)
wait_http http://127.0.0.1:53464/readyz
wait_http http://127.0.0.1:53466/readyz
wait_http $origin/readyz
# The customers service writes the duplicate keys the seed leaves out, in the background, at
# start; measuring while it runs would measure the backfill too. Wait for it
# (crm_customers_backfill_remaining on the service's admin port reaches 0).
started=$(date +%s)
while :; do
  left=$(curl -fs http://127.0.0.1:53464/metrics | awk '/^crm_customers_backfill_remaining / {print $2}')
  [ "$left" = 0 ] && break
  echo "waiting for the backfill: ${left:-?} customers left"
  sleep 5
done
echo "backfill done (waited $(elapsed "$started"))"

# The bearer token (loads the customer ids, runs the gRPC floor) and the UI's session cookie,
# from the sign-in form as a browser posts it (the gateway refuses writes from other origins).
CRM_BENCH_TOKEN=$(curl -fs -X POST $origin/api/v1/auth/login \
  -d "{\"login_name\": \"admin\", \"password\": \"$password\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
status=$(curl -s -o /dev/null -D "$out/login.headers" -w '%{http_code}' -X POST "$origin/login" \
  -H "Origin: $origin" --data-urlencode login_name=admin --data-urlencode "password=$password")
CRM_BENCH_COOKIE=$(sed -nE 's/^[Ss]et-[Cc]ookie: crm_session=([^;]+);.*/\1/p' "$out/login.headers" | head -1)
if [ "$status" != 303 ] || [ -z "$CRM_BENCH_COOKIE" ]; then
  echo "bench: sign-in failed (HTTP $status, no crm_session cookie)" >&2
  exit 1
fi
export CRM_BENCH_TOKEN CRM_BENCH_COOKIE
page() { # PATH FILE: fetches a page with the session; prints its HTTP status
  curl -s -o "$2" -w '%{http_code}' -H "Cookie: crm_session=$CRM_BENCH_COOKIE" "$origin$1"
}
page /customers "$out/list.html" >/dev/null
detail=$(grep -oE 'href="/customers/[0-9a-f-]{36}"' "$out/list.html" | head -1 | sed -E 's/href="(.*)"/\1/')
[ -n "$detail" ] || { echo "bench: no customer link on /customers" >&2; exit 1; }

echo
echo "== 1. server time per page ($concurrency users, $duration after $warmup warm-up; $(uptime | sed 's/.*load average/load average/'))"
started=$(date +%s)
"$bin" bench run ui-customers-list ui-customer-detail get-customer list-customers \
  --target $origin --duration "$duration" --warmup "$warmup" --concurrency "$concurrency" --quiet
echo "(took $(elapsed "$started"); load afterwards: $(uptime | sed 's/.*load average: //'))"

echo
echo "== 2. page weights (bytes as served, no compression asked for)"
printf '%-52s %6s %10s %12s\n' page status "HTML bytes" "gzip -9"
: >"$out/scripts"
for p in /customers "$detail" / /settings; do
  f="$out/page.html"
  code=$(page "$p" "$f")
  printf '%-52s %6s %10s %12s\n' "$p" "$code" "$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)"
  grep -oE '<script[^>]*src="[^"]+"' "$f" | sed -E 's/.*src="([^"]+)"/\1/' >>"$out/scripts" || true
done
printf '%-52s %10s %12s\n' "JavaScript linked from these pages" bytes "gzip -9"
total=0
for s in $(sort -u "$out/scripts"); do
  case "$s" in http*) url=$s ;; *) url=$origin$s ;; esac
  curl -fs -o "$out/asset.js" "$url"
  gz=$(gzip -9c "$out/asset.js" | wc -c)
  total=$((total + gz))
  printf '%-52s %10s %12s\n' "$s" "$(wc -c <"$out/asset.js")" "$gz"
done
kib() { awk "BEGIN {printf \"%.1f KiB\", $1 / 1024}"; }
printf '%-52s %10s %12s  (%s; target <= 50 KB)\n' "total linked" "" "$total" "$(kib $total)"
# Every script the UI embeds, linked from these pages or not (from this checkout's sources,
# which should be the binary's).
all=0
for f in $(find gateway/web/assets -name '*.js' | sort); do all=$((all + $(gzip -9c "$f" | wc -c))); done
printf '%-52s %10s %12s  (%s)\n' "total of gateway/web/assets/**/*.js" "" "$all" "$(kib $all)"

echo
# The load phase leaves PostgreSQL and the services busy for a while (the load average above
# counts it): paint times are taken once the machine is quiet again.
sleep "${UI_PAINT_SETTLE:-20}"
echo "== 3. browser ($(uptime | sed 's/.*load average/load average/'))"
started=$(date +%s)
node bench/ui_paint.mjs "$origin" /customers "$detail"
echo "(took $(elapsed "$started"))"
