"""Markdown table of benches/load/app.sh's results: per run, the median req/s, p99 and
server CPU per request of each server, and fasterapi's ratio to FastAPI on uvicorn.

    python3 benches/load/app_report.py benches/load/out/app/results.tsv
"""

import csv
import statistics
import sys
from collections import defaultdict


def main(path: str) -> None:
    rows = defaultdict(list)
    with open(path) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["req_s"] not in ("NA", ""):
                rows[(r["run"], r["server"])].append(r)
    runs = sorted({run for run, _ in rows}, key=lambda r: (r != "rotate", r))
    servers = sorted({s for _, s in rows}, key=lambda s: (s != "fasterapi-py", s))

    def med(run, server, key):
        vals = [float(r[key]) for r in rows.get((run, server), []) if r[key] not in ("NA", "")]
        return statistics.median(vals) if vals else None

    print("| run | server | req/s (median) | p99 ms | server CPU µs/req | req/s ÷ FastAPI-uvicorn | reps |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for run in runs:
        base = med(run, "fastapi-uvicorn", "req_s")
        for s in servers:
            rps = med(run, s, "req_s")
            if rps is None:
                continue
            p99, cpu = med(run, s, "p99_ms"), med(run, s, "server_cpu_us_per_req")
            ratio = f"{rps / base:.2f}x" if base else "-"
            print(f"| {run} | {s} | {rps:,.0f} | {p99:.2f} | {cpu:.2f} | {ratio} | {len(rows[(run, s)])} |")
    fa = {run: med(run, "fasterapi-py", "server_cpu_us_per_req") for run in runs}
    if fa.get("/me/profile") and fa.get("/bare"):
        print(f"\nfasterapi CPU per request, /me/profile - /bare: {fa['/me/profile'] - fa['/bare']:+.2f} µs")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "benches/load/out/app/results.tsv")
