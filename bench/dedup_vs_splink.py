#!/usr/bin/env python3
"""Duplicate matching: crm-dedup against splink on the very same file.

Data sets:
  --synthetic N   our hard generator with N entities (≈2.2 N records), seed 42
  --febrl K       FEBRL dataset K (1–4) from the installed `recordlinkage`
                  package (4 = its two files concatenated); `soc_sec_id` is
                  dropped: no national id. Not committed, fetched from the package.

Both matchers read the same CSV (layout: libs/dedup/examples/common/csv_io.rs).
Ours: `cargo run --release -p crm-dedup --example match_csv` (clusters).
Splink: DuckDB backend, extension auto-install/auto-load switched off (no
network), the approach of splink's tutorial ("deduplicate 50k synthetic"):
comparisons from its comparison library, probability_two_random_records_match
from deterministic rules, u by random sampling, m by expectation maximisation
on two blocking rules, predict, and a match at match_probability >= 0.9
(pairwise, and clustered at the same threshold). Splink gets the columns it can
use: given/family name (split from the display name when the record has only
that, the same rule as ours), birth date, street line, city, postcode, first
e-mail (lower case), first phone (last 8 digits, as our phone key).

Precision/recall/F1 are pairwise, computed by the same code for both.

Pinned: splink==5.0.0, duckdb==2.0.1, recordlinkage==0.16 (pip install
splink==5.0.0 recordlinkage==0.16).

Sizes: --synthetic 4500 ≈ 10k records, 46000 ≈ 100k, 460000 ≈ 1M. At 1M
records splink's EM step (blocked on given + family name, common names) grew
past 20 GB on a 24 GB machine and was stopped: use --no-splink there.

Example:
  python3 bench/dedup_vs_splink.py --synthetic 4500
  python3 bench/dedup_vs_splink.py --febrl 3
  python3 bench/dedup_vs_splink.py --synthetic 450000 --no-splink
"""

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
HEADER = [
    "id", "entity", "kind", "name", "given_name", "family_name", "birth_date",
    "emails", "phones", "addr_line", "addr_city", "addr_postcode",
    "addr2_line", "addr2_city", "addr2_postcode",
]


def example(name):
    return os.path.join(TARGET, "release", "examples", name)


def build():
    subprocess.run(
        ["cargo", "build", "--release", "-p", "crm-dedup", "--examples"],
        cwd=ROOT, check=True,
    )


def write_febrl(k, path):
    """FEBRL dataset k as our CSV; the entity is the number in rec-N-org/dup-M."""
    import recordlinkage.datasets as ds

    frames = {1: ds.load_febrl1, 2: ds.load_febrl2, 3: ds.load_febrl3}
    if k == 4:
        a, b = ds.load_febrl4()
        df = a._append(b) if hasattr(a, "_append") else a.append(b)
    else:
        df = frames[k]()
    df = df.drop(columns=["soc_sec_id"])
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for rec_id, r in df.iterrows():
            entity = re.match(r"rec-(\d+)-", rec_id).group(1)
            val = lambda c: "" if r[c] is None or str(r[c]) == "nan" else str(r[c]).strip()
            dob = val("date_of_birth")
            if len(dob) == 8 and dob.isdigit():
                dob = f"{dob[:4]}-{dob[4:6]}-{dob[6:]}"
            line = " ".join(x for x in [val("street_number"), val("address_1")] if x)
            if val("address_2"):
                line = f"{line}|{val('address_2')}"
            w.writerow([
                rec_id, entity, "person", "", val("given_name"), val("surname"), dob,
                "", "", line, val("suburb"), val("postcode"), "", "", "",
            ])


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def truth_pairs(rows):
    sizes = Counter(r["entity"] for r in rows)
    return sum(n * (n - 1) // 2 for n in sizes.values())


def metrics(correct, predicted, true):
    p = correct / predicted if predicted else 1.0
    r = correct / true if true else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score_clusters(rows, cluster_of):
    """Pairwise P/R/F1 of clusters (dict id -> cluster label)."""
    entity = {r["id"]: r["entity"] for r in rows}
    members = defaultdict(list)
    for i, c in cluster_of.items():
        members[c].append(i)
    predicted = correct = 0
    for ids in members.values():
        n = len(ids)
        predicted += n * (n - 1) // 2
        per = Counter(entity[i] for i in ids)
        correct += sum(k * (k - 1) // 2 for k in per.values())
    return metrics(correct, predicted, truth_pairs(rows))


def score_pairs(rows, pairs):
    entity = {r["id"]: r["entity"] for r in rows}
    pairs = {tuple(sorted(p)) for p in pairs}
    correct = sum(1 for a, b in pairs if entity[a] == entity[b])
    return metrics(correct, len(pairs), truth_pairs(rows))


def run_ours(path):
    out = path + ".ours.csv"
    t = time.time()
    subprocess.run([example("match_csv"), path, out], check=True)
    elapsed = time.time() - t
    cluster_of = {r["id"]: r["cluster"] for r in read_rows(out)}
    return cluster_of, elapsed


def split_name(r):
    """Given/family from the display name when the record lacks them (the
    rule crm-dedup uses too)."""
    g, f = r["given_name"], r["family_name"]
    if g or f:
        return g or None, f or None
    name = r["name"].strip()
    if "," in name:
        f, g = [x.strip() for x in name.split(",", 1)]
        return g or None, f or None
    toks = name.split()
    if len(toks) >= 2:
        return " ".join(toks[:-1]), toks[-1]
    if len(name) >= 2 and not name.isascii():
        return name[1:], name[0]
    return None, name or None


def splink_frame(rows):
    import pandas as pd

    out = []
    for r in rows:
        g, f = split_name(r)
        phone = re.sub(r"\D", "", r["phones"].split(";")[0])[-8:]
        email = r["emails"].split(";")[0].strip().lower()
        out.append({
            "unique_id": r["id"],
            "given_name": (g or "").lower() or None,
            "family_name": (f or "").lower() or None,
            "birth_date": r["birth_date"] or None,
            "street": r["addr_line"].replace("|", " ").lower() or None,
            "city": r["addr_city"].lower() or None,
            "postcode": r["addr_postcode"] or None,
            "email": email or None,
            "phone": phone or None,
        })
    return pd.DataFrame(out)


def run_splink(rows):
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    df = splink_frame(rows)
    t = time.time()
    con = duckdb.connect()
    # No network here: DuckDB must not try to fetch extensions.
    con.execute("SET autoinstall_known_extensions=false")
    con.execute("SET autoload_known_extensions=false")
    # Spill to the system temp dir, not to ./.tmp in the work tree.
    spill = tempfile.mkdtemp(prefix="dedup_bench_duckdb_")
    con.execute(f"SET temp_directory='{spill}'")
    db = DuckDBAPI(con)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.ForenameSurnameComparison("given_name", "family_name"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.JaroWinklerAtThresholds("street"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "family_name"),
            block_on("family_name", "birth_date"),
            block_on("given_name", "birth_date"),
            block_on("postcode", "family_name"),
            block_on("postcode", "given_name"),
            block_on("email"),
            block_on("phone"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(db.register(df), settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "family_name", "birth_date")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "family_name")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("birth_date")
    )
    pred = linker.inference.predict(threshold_match_probability=0.9)
    pairs_df = pred.as_pandas_dataframe()
    pairs = list(zip(pairs_df["unique_id_l"].astype(str), pairs_df["unique_id_r"].astype(str)))
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=0.9
    ).as_pandas_dataframe()
    cluster_of = dict(zip(clusters["unique_id"].astype(str), clusters["cluster_id"].astype(str)))
    return pairs, cluster_of, time.time() - t


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--synthetic", type=int, metavar="ENTITIES")
    g.add_argument("--febrl", type=int, choices=[1, 2, 3, 4])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-splink", action="store_true")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        build()
    tmp = tempfile.mkdtemp(prefix="dedup_bench_")
    path = os.path.join(tmp, "records.csv")
    if args.synthetic:
        subprocess.run([example("synth_csv"), str(args.synthetic), str(args.seed), path], check=True)
        label = f"synthetic hard, {args.synthetic} entities"
    else:
        write_febrl(args.febrl, path)
        label = f"FEBRL {args.febrl}"
    rows = read_rows(path)
    print(f"{label}: {len(rows)} records, {truth_pairs(rows)} true pairs")
    cluster_of, t_ours = run_ours(path)
    p, r, f = score_clusters(rows, cluster_of)
    print(f"  crm-dedup            P {p:.4f} R {r:.4f} F1 {f:.4f}  ({t_ours:.1f} s)")
    if not args.no_splink:
        pairs, clusters, t_splink = run_splink(rows)
        # Records splink put in no multi-record cluster are singletons.
        p, r, f = score_pairs(rows, pairs)
        print(f"  splink pairs >= 0.9  P {p:.4f} R {r:.4f} F1 {f:.4f}  ({t_splink:.1f} s)")
        p, r, f = score_clusters(rows, clusters)
        print(f"  splink clustered 0.9 P {p:.4f} R {r:.4f} F1 {f:.4f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
