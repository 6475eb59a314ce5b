#!/usr/bin/env python3
"""wait_report.py — a Markdown table from the waiting-handlers benchmark (wait.sh).

    python3 benches/load/wait_report.py [--out DIR] [--md FILE]

Reads DIR/results.tsv (default benches/load/out/wait, written by wait.sh) and DIR/meta.tsv.
Prints (stdout, or --md FILE), per config, one row per route: the median over repeats of
req/s and p99 (ms) of each server, and the ratios fasterapi-py / fastapi-uvicorn of both
(req/s: above 1 is better for fasterapi; p99: below 1 is better). The mixed rows are the
two halves of the mixed run (/trivial with 8 connections while /wait has 56). A value
marked * had non-2xx answers or socket errors (timeouts included) in at least one repeat;
those runs are listed below the tables. Standard library only.
"""
import argparse
import csv
import os
import statistics
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ORDER = ["fasterapi-py", "fastapi-uvicorn", "fastapi-granian", "robyn"]
LABEL = {"fasterapi-py": "fasterapi (Python)", "fastapi-uvicorn": "FastAPI on uvicorn",
         "fastapi-granian": "FastAPI on Granian", "robyn": "Robyn"}
ROUTES = ["/wait", "/gather", "/block", "/trivial"]
BASE, OURS = "fastapi-uvicorn", "fasterapi-py"


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    return "—" if x is None else format(x, spec)


def ratio(a, b):
    return "—" if a is None or not b else f"{a / b:.2f}"


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def bad(r):
    return r["non2xx"] not in ("0", "") or r["sock_errors"] != "none" or num(r["req_s"]) is None


def report(out_dir):
    rows = read_tsv(os.path.join(out_dir, "results.tsv"))
    if not rows:
        sys.exit(f"no results in {out_dir}/results.tsv (run benches/load/wait.sh first)")
    meta = {r["key"]: r["value"] for r in read_tsv(os.path.join(out_dir, "meta.tsv"))}
    groups = defaultdict(list)  # (config, run, path, conns, server) -> rows
    for r in rows:
        groups[(r["config"], r["run"], r["path"], r["conns"], r["server"])].append(r)
    configs = list(dict.fromkeys(r["config"] for r in rows))
    servers = [s for s in ORDER if any(r["server"] == s for r in rows)]
    servers += sorted({r["server"] for r in rows} - set(servers))

    def keyorder(k):
        run, path, conns = k
        return (run != "solo", ROUTES.index(path) if path in ROUTES else len(ROUTES), path, int(conns))

    lines = ["# Handlers that wait: fasterapi (Python) against FastAPI and Robyn", ""]
    lines.append("Median over repeats of req/s and p99 latency (ms), wrk `--timeout 5s --latency`; "
                 "`mixed`: /trivial and /wait loaded at the same time by two wrk processes. "
                 f"Ratios: {OURS} / {BASE} (req/s: >1 better, p99: <1 better). "
                 "* = non-2xx answers or socket errors in at least one repeat.")
    lines.append("")
    for cfg in configs:
        keys = sorted({(k[1], k[2], k[3]) for k in groups if k[0] == cfg}, key=keyorder)
        reps = sorted({r["rep"] for r in rows if r["config"] == cfg})
        lines.append(f"## {cfg} ({len(reps)} repeat{'s' if len(reps) != 1 else ''})")
        lines.append("")
        head = ["route", "conns"]
        for s in servers:
            head += [f"{LABEL.get(s, s)} req/s", "p99 ms"]
        show_ratio = OURS in servers and BASE in servers
        if show_ratio:
            head += ["req/s ratio", "p99 ratio"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
        for run, path, conns in keys:
            cells = [path if run == "solo" else f"{path} (mixed)", conns]
            med = {}
            for s in servers:
                g = groups.get((cfg, run, path, conns, s), [])
                rps = median(num(r["req_s"]) for r in g)
                p99 = median(num(r["p99_ms"]) for r in g)
                star = "*" if any(bad(r) for r in g) else ""
                med[s] = (rps, p99)
                cells += [fmt(rps, ",.0f") + star, fmt(p99, ",.1f") + star]
            if show_ratio:
                cells += [ratio(med[OURS][0], med[BASE][0]), ratio(med[OURS][1], med[BASE][1])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        cpu_keys = [k for k in keys if k[0] == "solo" and any(
            num(r.get("server_cpu_us_per_req", "")) is not None
            for s in servers for r in groups.get((cfg, *k, s), []))]
        if cpu_keys:
            lines.append(f"Server CPU per request, µs (median; solo runs), {cfg}:")
            lines.append("")
            lines.append("| route | " + " | ".join(LABEL.get(s, s) for s in servers) + " |")
            lines.append("|---|" + "---:|" * len(servers))
            for run, path, conns in cpu_keys:
                cells = [path]
                for s in servers:
                    g = groups.get((cfg, run, path, conns, s), [])
                    cells.append(fmt(median(num(r.get("server_cpu_us_per_req", "")) for r in g), ",.1f"))
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    flagged = [r for r in rows if bad(r)]
    if flagged:
        lines.append("Runs with non-2xx answers or socket errors:")
        lines.append("")
        for r in flagged:
            lines.append(f"- {r['server']} {r['config']} rep {r['rep']} {r['run']} {r['path']} "
                         f"c{r['conns']}: {r['req_s']} req/s, non-2xx {r['non2xx']}, socket errors {r['sock_errors']}")
        lines.append("")
    if meta:
        lines.append("Machine: " + ", ".join(
            f"{k} {meta[k]}" for k in ("nproc", "cpu_model", "kernel", "python", "wrk") if k in meta) + ".")
        pkgs = [f"{k[4:]} {v}" for k, v in meta.items() if k.startswith("pkg_")]
        if pkgs:
            lines.append("Packages: " + ", ".join(pkgs) + f"; fasterapi {meta.get('fasterapi', '?')}.")
        if "settings" in meta:
            lines.append(f"Settings: `{meta['settings']}`.")
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "out", "wait"), help="wait.sh's output directory")
    ap.add_argument("--md", help="write the Markdown here instead of stdout")
    args = ap.parse_args()
    text = report(args.out)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
