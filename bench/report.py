"""Turns one bench/run.sh result directory into a dated BENCHMARKS.md section: the machine,
the commit, the dataset, every scenario with absolute figures and ratios to the floors, the
footprint, and the goals with the measured value and whether it is met."""
import datetime
import json
import pathlib
import re
import sys

out = pathlib.Path(sys.argv[1])
meta = json.loads((out / "meta.json").read_text())
results = []
for name in ["floor-echo", "floor-pg", "suite", "open", "create"]:
    results += json.loads((out / f"{name}.json").read_text())
by = {r["scenario"]: r for r in results}
echo, pg = by["floor-echo"], by["floor-pg"]

def errors(r):
    return ", ".join(f"{k}={v}" for k, v in r["errors"].items()) or "0"

now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"\n## {now} — `bench/run.sh` (commit {meta['commit']}, {meta['customers']:,} customers)\n")
print(f"Machine: {meta['cpu']}, {meta['cores']} cores, {meta['mem_gib']} GiB; PostgreSQL {meta['postgres']}. "
      "Load generator, suite and PostgreSQL share the cores. "
      f"Closed loop at concurrency {meta['concurrency']} unless stated, {meta['duration']} measured after "
      f"{meta['warmup']} warm-up. Seeding {meta['customers']:,} customers (COPY) took {meta['seed_s']:.1f} s; "
      f"the service's backfill of search documents and duplicate keys then took {meta.get('backfill_s', 0):.1f} s "
      f"and finished before any measurement.\n")
print("| scenario | mode | req/s | × floor-pg | × floor-echo | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for r in results:
    print(f"| {r['scenario']} | {r['mode']} | {r['rps']:.0f} | {r['rps'] / pg['rps']:.2f} | {r['rps'] / echo['rps']:.2f} | "
          f"{r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['p999_ms']:.2f} | {r['max_ms']:.2f} | {errors(r)} |")

rss = {k: v / 1024 for k, v in meta["rss_kb"].items()}
dev = (out / "dev_ready.txt").read_text()
ready = [float(x) for x in re.findall(r"median=([0-9.]+)", dev)]
print(f"\nFootprint: customers RSS {rss['customers_idle']:.1f} MiB idle / {rss['customers_peak']:.1f} MiB peak; "
      f"gateway {rss['gateway_idle']:.1f} / {rss['gateway_peak']:.1f} MiB; release binary "
      f"{meta['binary_bytes'] / 1e6:.1f} MB; `crm dev` ready (median, `bench/dev_ready.py`): "
      f"{ready[0]:.1f} ms fresh data dir, {ready[1]:.1f} ms existing.\n")

auth = (out / "auth.txt").read_text()
first = re.findall(r"signature \+ claims.*?([0-9.]+) µs", auth)
again = re.findall(r"per request.*?([0-9.]+) µs", auth)
if first and again:
    print(f"Authentication (`crm bench auth`, in-process, release): {first[0]} µs to verify a token the "
          f"first time (Ed25519 signature + claims), {again[0]} µs per request for a token seen before "
          "(verified-token cache + deny list).\n")

for name, label in [("events.json", "1 consumer"), ("events4.json", "4 consumers")]:
    path = out / name
    if path.exists():
        e = json.loads(path.read_text())
        print(f"Events (`crm bench events`, PostgreSQL + Redis, {label}): {e['events']:,} events from {e['writers']} writers "
              f"(one per transaction) written at {e['events'] / e['written_s']:.0f}/s, all handled in {e['handled_s']:.2f} s: "
              f"**{e['events_per_s']:.0f} events/s** end to end; commit→handled at {e['rate']:.0f}/s "
              f"({e['latency_events']} events): p50 {e['p50_ms']:.2f} ms, p90 {e['p90_ms']:.2f} ms, "
              f"p99 {e['p99_ms']:.2f} ms, max {e['max_ms']:.2f} ms.\n")

get, rest, lst = by["get-customer"], by["get-customer-rest"], by["list-customers"]
goals = [
    ("gRPC GetCustomer ≥ 65% of floor-pg req/s", f"{get['rps'] / pg['rps']:.0%}", get["rps"] / pg["rps"] >= 0.65),
    ("gRPC GetCustomer p99 ≤ 15 ms at c=32", f"{get['p99_ms']:.1f} ms", get["p99_ms"] <= 15),
    ("REST GetCustomer ≥ 50% of floor-pg req/s", f"{rest['rps'] / pg['rps']:.0%}", rest["rps"] / pg["rps"] >= 0.5),
    ("List with filter (page 20) p99 ≤ 20 ms at c=32", f"{lst['p99_ms']:.1f} ms", lst["p99_ms"] <= 20),
    ("each service ≤ 50 MB RSS under load", f"{max(rss['customers_peak'], rss['gateway_peak']):.1f} MiB",
     max(rss["customers_peak"], rss["gateway_peak"]) * 1.048576 <= 50),
    ("`crm dev` ready ≤ 1 s", f"{ready[0]:.1f} ms", ready[0] <= 1000),
]
print("| goal | measured | met |")
print("|---|---|---|")
for goal, value, ok in goals:
    print(f"| {goal} | {value} | {'yes' if ok else '**no**'} |")
