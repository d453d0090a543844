#!/usr/bin/env python3
"""The side-by-side benchmark: the segment job vs DuckDB, on the same generated data.

    python3 bench/run.py                       # N = 10k and 100k, SQLite and PostgreSQL
    python3 bench/run.py --million             # ... and 1M
    python3 bench/run.py --sizes 1000000 --stores sqlite
    python3 bench/run.py --smoke               # N = 300 on SQLite: PQL and SQL must agree

For each N it exports the generated data (`segmentation bench-job --export`), loads it into DuckDB
and runs the 20 audiences of bench/audiences.sql there (bench/duck.py, a child process); then,
for each store, loads the same data through the service's ingestion path (one process) and runs
one segment job over the 20 definitions (another process, so its peak memory is its own). Every
audience must have exactly the same members on both sides, or the run fails. The table is
printed, and (unless --smoke or --no-docs) merged into docs/benchmarks.json, from which the
table in docs/BENCHMARKS.md and the chart docs/benchmarks.png are regenerated.

It creates its own venv (bench/requirements.txt) under ${CARGO_TARGET_DIR:-target}/bench-venv.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
VENV = TARGET / "bench-venv"
REQUIREMENTS = ROOT / "bench" / "requirements.txt"
AUDIENCES = ROOT / "bench" / "audiences.sql"
DOC = ROOT / "docs" / "BENCHMARKS.md"
RESULTS = ROOT / "docs" / "benchmarks.json"
CHART = ROOT / "docs" / "benchmarks.png"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test"


def in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_venv():
    """Creates the venv (or refreshes it when bench/requirements.txt changed) and re-runs this
    script with it."""
    stamp = VENV / "requirements.txt"
    python = VENV / "bin" / "python"
    if not python.exists() or not stamp.exists() or stamp.read_text() != REQUIREMENTS.read_text():
        print(f"==> creating the benchmark venv in {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(REQUIREMENTS)], check=True)
        shutil.copy(REQUIREMENTS, stamp)
    os.execv(str(python), [str(python), str(Path(__file__).resolve())] + sys.argv[1:])


def run(cmd, **kw):
    """Runs a command, echoing it; fails loudly with its output when it fails."""
    print("   $", " ".join(str(c) for c in cmd), flush=True)
    p = subprocess.run([str(c) for c in cmd], text=True, capture_output=True, **kw)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit(f"bench: command failed ({p.returncode}): {' '.join(map(str, cmd))}")
    return p


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def build(debug):
    cmd = ["cargo", "build", "--locked", "--bin", "segmentation"]
    if not debug:
        cmd.append("--release")
    run(cmd, cwd=ROOT)
    return TARGET / ("debug" if debug else "release") / "segmentation"


def pg_database(base_url, name, create):
    """Drops database `name` on the server of `base_url`, then creates it when `create`; returns
    its URL."""
    run(["psql", "-q", "-v", "ON_ERROR_STOP=1", base_url, "-c", f"DROP DATABASE IF EXISTS {name}"])
    if create:
        run(["psql", "-q", "-v", "ON_ERROR_STOP=1", base_url, "-c", f"CREATE DATABASE {name}"])
    u = urllib.parse.urlsplit(base_url)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))


def compare_counts(n, store, duck, job):
    """Returns the list of mismatch descriptions between the job's member counts
    (`segmentedProfileCounter`) and DuckDB's."""
    problems = []
    for name, theirs in duck.items():
        counted = job["segmented"].get(name, 0)
        if counted != len(set(theirs)):
            problems.append(f"{name}: {counted} members in the job, {len(set(theirs))} in DuckDB")
    return [f"N={n} {store}: {p}" for p in problems]


def compare(n, store, ours, duck, job):
    """Returns the list of mismatch descriptions between the job's member sets and DuckDB's."""
    problems = []
    for name, theirs in duck.items():
        mine = ours.get(name, [])
        counted = job["segmented"].get(name, 0)
        if counted != len(mine):
            problems.append(f"{name}: the job counted {counted} members but the store lists {len(mine)}")
        a, b = set(mine), set(theirs)
        if a != b:
            only_ours = sorted(a - b)[:10]
            only_duck = sorted(b - a)[:10]
            problems.append(
                f"{name}: {len(a)} members in the job, {len(b)} in DuckDB; only in the job: "
                f"{only_ours}; only in DuckDB: {only_duck}")
    for name in ours:
        if name not in duck:
            problems.append(f"{name}: no DuckDB audience of that name")
    return [f"N={n} {store}: {p}" for p in problems]


def bench_size(binary, n, args, work):
    print(f"==> N = {n:,}", flush=True)
    data = work / f"data-{n}"
    exp = work / f"export-{n}.json"
    if not (args.resume and exp.exists() and data.exists()):
        run([binary, "bench-job", "--profiles", n, "--max-events", args.max_events,
             "--export", data, "--result-json", exp])
    exported = read_json(exp)
    print(f"   exported {exported['profiles']:,} profiles and {exported['events']:,} events "
          f"in {exported['export_s']:.1f} s", flush=True)

    duckdb_file = work / f"duck-{n}.duckdb"
    duckdb_file.unlink(missing_ok=True)
    p = run([sys.executable, ROOT / "bench" / "duck.py", "load", data, duckdb_file])
    duck_load = json.loads(p.stdout.strip().splitlines()[-1])
    duck_out = work / f"duck-{n}.json"
    run([sys.executable, ROOT / "bench" / "duck.py", "query", duckdb_file, AUDIENCES, duck_out])
    duck = read_json(duck_out)
    print(f"   DuckDB: load {duck_load['load_s']:.1f} s, 20 audiences {duck['total_s']:.2f} s, "
          f"peak RSS {duck['peak_rss_kib'] / 1024:.0f} MiB", flush=True)
    duckdb_file.unlink()

    rows, problems = [], []
    for store in args.stores:
        if store == "sqlite":
            db = work / f"n{n}.db"
            url = f"sqlite://{db}?mode=rwc"
        else:
            url = pg_database(args.postgres_url, f"bench_{n}", create=True)
        load_json = work / f"load-{store}-{n}.json"
        job_json = work / f"job-{store}-{n}.json"
        members = work / f"members-{store}-{n}.json"
        common = ["--profiles", n, "--max-events", args.max_events, "--database-url", url]
        if not (args.resume and load_json.exists()):
            run([binary, "bench-job", *common, "--load-only", "--result-json", load_json])
        load = read_json(load_json)
        print(f"   {store}: loaded in {load['load_s']:.1f} s "
              f"({load['profiles_per_s']:.0f} profiles/s, {load['events_per_s']:.0f} events/s)",
              flush=True)
        by_set = args.compare == "sets"
        if not (args.resume and job_json.exists()):
            run([binary, "bench-job", *common, "--skip-load", "--result-json", job_json,
                 *(["--members-out", members] if by_set else [])])
        job = read_json(job_json)
        if by_set:
            found = compare(n, store, read_json(members), duck["members"], job)
        else:
            found = compare_counts(n, store, duck["members"], job)
        problems += found
        job_s = job["job_ms"] / 1000.0
        print(f"   {store}: job {job_s:.2f} s (DuckDB {duck['total_s']:.2f} s), "
              f"peak RSS {job['peak_rss_kib'] / 1024:.0f} MiB, members "
              f"{'match' if not found else 'DIFFER'}", flush=True)
        rows.append({
            "n": n, "store": store, "max_events": args.max_events, "events": exported["events"],
            "load_s": load["load_s"], "load_profiles_per_s": load["profiles_per_s"],
            "load_events_per_s": load["events_per_s"],
            "job_s": job_s, "eval_s": job["eval_ms"] / 1000.0,
            "commit_s": job["commit_ms"] / 1000.0,
            "profiles_per_s": n / job_s, "evaluations_per_s": 20 * n / job_s,
            "job_peak_rss_mib": job["peak_rss_kib"] / 1024,
            "duckdb_s": duck["total_s"], "duckdb_load_s": duck_load["load_s"],
            "duckdb_peak_rss_mib": duck["peak_rss_kib"] / 1024,
            "ratio": job_s / duck["total_s"],
            "members": sum(len(v) for v in duck["members"].values()),
            "match": not found, "compared": args.compare,
        })
        if store == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        else:
            pg_database(args.postgres_url, f"bench_{n}", create=False)
    shutil.rmtree(data)
    return rows, problems


def key(r):
    return (r["n"], r.get("max_events", 40), r["store"])


def table(rows):
    head = ("| N | store | events (max per profile) | load: profiles/s | load: events/s | job (eval + commit) | "
            "profiles/s | evaluations/s | job peak RSS | DuckDB: load | DuckDB: 20 queries | "
            "DuckDB peak RSS | "
            "job / DuckDB | members |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in sorted(rows, key=key):
        lines.append(
            f"| {r['n']:,} | {r['store']} | {r['events']:,} ({r.get('max_events', 40)}) | {r['load_profiles_per_s']:,.0f} | "
            f"{r['load_events_per_s']:,.0f} | {r['job_s']:.2f} s ({r['eval_s']:.2f} + "
            f"{r['commit_s']:.2f}) | {r['profiles_per_s']:,.0f} | {r['evaluations_per_s']:,.0f} | "
            f"{r['job_peak_rss_mib']:,.0f} MiB | {r['duckdb_load_s']:.1f} s | {r['duckdb_s']:.2f} s | "
            f"{r['duckdb_peak_rss_mib']:,.0f} MiB | {r['ratio']:.2f}× | "
            f"{same(r)} |")
    return "\n".join(lines)


def same(r):
    if not r["match"]:
        return "DIFFERENT"
    return "same counts" if r.get("compared") == "counts" else "same"


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal"))
        mem = f"{int(mem) / 1024 / 1024:.0f} GiB"
    except OSError:
        mem = "unknown"
    import duckdb
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                            capture_output=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "python": platform.python_version(), "duckdb": duckdb.__version__,
            "load_average": os.getloadavg()[0], "commit": commit,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def replace_between(text, name, body):
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    i, j = text.index(start) + len(start), text.index(end)
    return text[:i] + "\n" + body + "\n" + text[j:]


def write_docs(new_rows, info):
    runs = read_json(RESULTS) if RESULTS.exists() else {"rows": []}
    keep = [r for r in runs["rows"] if key(r) not in {key(x) for x in new_rows}]
    for r in new_rows:
        r["machine"] = info
    rows = sorted(keep + new_rows, key=key)
    RESULTS.write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    machines = sorted({json.dumps(r["machine"], sort_keys=True) for r in rows})
    described = []
    for m in map(json.loads, machines):
        sizes = ", ".join(f"{r['n']:,} {r['store']} (≤{r.get('max_events', 40)} events)" for r in rows
                          if json.dumps(r["machine"], sort_keys=True) == json.dumps(m, sort_keys=True))
        described.append(
            f"- {sizes}: {m['date']}, commit `{m['commit']}`, {m['cpu']}, {m['cores']} cores, "
            f"{m['memory']}, Linux {m['kernel']}, DuckDB {m['duckdb']} (Python {m['python']}), "
            f"load average {m['load_average']:.1f} at the start")
    text = DOC.read_text()
    text = replace_between(text, "table", table(rows))
    text = replace_between(text, "machine", "\n".join(described))
    DOC.write_text(text)
    chart(rows)
    print(f"==> wrote {DOC.relative_to(ROOT)}, {RESULTS.relative_to(ROOT)}, {CHART.relative_to(ROOT)}")


def chart(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (t_ax, m_ax) = plt.subplots(1, 2, figsize=(11, 4.6))
    for m in sorted({r.get("max_events", 40) for r in rows}, reverse=True):
        same = [r for r in rows if r.get("max_events", 40) == m]
        style = "-" if m == 40 else ":"
        for store in sorted({r["store"] for r in same}):
            mine = sorted((r for r in same if r["store"] == store), key=key)
            ns = [r["n"] for r in mine]
            label = f"segment job ({store}, ≤{m} events)"
            t_ax.plot(ns, [r["job_s"] for r in mine], "o" + style, label=label)
            m_ax.plot(ns, [r["job_peak_rss_mib"] for r in mine], "o" + style, label=label)
        duck = {r["n"]: r for r in same}
        ns = sorted(duck)
        label = f"DuckDB (≤{m} events)"
        dash = "s--" if m == 40 else "s:"
        t_ax.plot(ns, [duck[n]["duckdb_s"] for n in ns], dash, color="black", label=label)
        m_ax.plot(ns, [duck[n]["duckdb_peak_rss_mib"] for n in ns], dash, color="black", label=label)
    for ax, title, unit in ((t_ax, "time for the 20 audiences", "seconds"),
                            (m_ax, "peak memory (RSS)", "MiB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("profiles (N)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(CHART, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated N (default 10000,100000)")
    ap.add_argument("--million", action="store_true", help="also N = 1,000,000")
    ap.add_argument("--stores", default="sqlite,postgres", help="sqlite, postgres or both")
    ap.add_argument("--postgres-url", default=os.environ.get("SEGMENTATION_TEST_POSTGRES_URL", DEFAULT_PG),
                    help="a PostgreSQL server to create and drop bench_<N> databases on")
    ap.add_argument("--max-events", type=int, default=40, help="most events per profile (default 40)")
    ap.add_argument("--smoke", action="store_true",
                    help="N = 300 on SQLite with a debug build; only checks that PQL and SQL agree")
    ap.add_argument("--no-docs", action="store_true", help="do not update docs/")
    ap.add_argument("--compare", choices=("sets", "counts"), default="sets",
                    help="compare every audience's member ids (default), or only the counts (the "
                         "job's segmentedProfileCounter; faster for large N)")
    ap.add_argument("--work", type=Path,
                    help="work in this directory (kept afterwards) instead of a temporary one")
    ap.add_argument("--resume", action="store_true",
                    help="with --work: skip the export, loads and jobs whose results the "
                         "directory already holds (DuckDB always runs)")
    args = ap.parse_args()
    if args.smoke:
        args.sizes, args.stores, args.no_docs = "300", "sqlite", True
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.million and 1_000_000 not in sizes:
        sizes.append(1_000_000)
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    for s in args.stores:
        if s not in ("sqlite", "postgres"):
            raise SystemExit(f"bench: unknown store {s!r} (sqlite or postgres)")

    info = machine()
    binary = build(debug=args.smoke)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-", dir=TARGET))
    work.mkdir(parents=True, exist_ok=True)
    rows, problems = [], []
    try:
        for n in sizes:
            r, p = bench_size(binary, n, args, work)
            rows += r
            problems += p
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(rows))
    if problems:
        print("\nFAILED: the segment job and DuckDB disagree:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        raise SystemExit(1)
    print(f"\nall {20 * len(rows)} audiences: the same members in the job and in DuckDB")
    if not args.no_docs:
        write_docs(rows, info)


if __name__ == "__main__":
    if not in_venv():
        ensure_venv()
    main()
