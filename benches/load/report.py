#!/usr/bin/env python3
"""report.py — Markdown tables and a chart from the load benchmark's output.

    benches/load/out/venv/bin/python benches/load/report.py [--out DIR] [--md FILE] [--svg FILE]

Reads DIR (default benches/load/out): results.tsv (run.sh), meta.tsv, versions.tsv and
commands.tsv (run.sh), instructions.tsv (instructions.sh) and memory.tsv (memory.sh) when
present. Writes a Markdown fragment (stdout, or --md FILE) with, per config and per route,
the median over repeats of req/s, p50, p99 and server CPU µs per request, each row's ratios
to the best peer in its language and to the floor; the oha cross-check, instruction counts,
memory, versions, exact commands and the machine. Draws req/s and p99 per framework per
route (64 connections) with matplotlib into --svg (default benches/results.svg).
"""
import argparse
import csv
import os
import statistics
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ORDER = ["fasterapi", "floor", "floor-shared", "minihttp", "actix", "axum",
         "fasterapi-py", "robyn", "rsgi-granian", "fastapi-uvicorn", "fastapi-granian"]
LABEL = {"fasterapi": "fasterapi (Rust)", "floor": "floor (no framework)",
         "floor-shared": "floor, threads on one epoll set", "minihttp": "may-minihttp",
         "actix": "actix-web", "axum": "axum", "fasterapi-py": "fasterapi (Python)", "robyn": "Robyn",
         "rsgi-granian": "Granian RSGI", "fastapi-uvicorn": "FastAPI on uvicorn",
         "fastapi-granian": "FastAPI on Granian"}
RUST_PEERS = {"minihttp", "actix", "axum"}
PY_PEERS = {"robyn", "rsgi-granian", "fastapi-uvicorn", "fastapi-granian"}
PY_SIDE = PY_PEERS | {"fasterapi-py"}
FOREIGN_MAX = 8  # % of the machine used by other processes above which run.sh re-measures


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec=",.0f", none="—"):
    return none if x is None else format(x, spec)


def ratio(a, b):
    return "—" if a is None or not b else f"{a / b:.2f}"


def route_key(path, conns):
    base = path.split("|")[0]
    pipe = path.split("|")[1] if "|" in path else ""
    order = ["/plaintext", "/json", "/users/42"]
    return (int(conns), 1 if pipe else 0, order.index(base) if base in order else 9, path)


def route_label(path, conns):
    if "|p" in path:
        base, depth = path.split("|p")
        return f"{base} pipelined x{depth}, {conns} connections"
    return f"{path}, {conns} connections"


def aggregate(rows):
    """(name, config, tool, path, conns) -> medians over repeats."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["name"], r["config"], r["tool"], r["path"], r["conns"])].append(r)
    agg = {}
    for k, rs in groups.items():
        socks = sorted({r["sock_errors"] for r in rs if r["sock_errors"] not in ("none", "see-json", "")})
        agg[k] = dict(
            n=len(rs),
            rps=median(num(r["req_s"]) for r in rs),
            p50=median(num(r["p50_ms"]) for r in rs),
            p99=median(num(r["p99_ms"]) for r in rs),
            cpu=median(num(r["server_cpu_us_per_req"]) for r in rs),
            rps_all=[num(r["req_s"]) for r in rs if num(r["req_s"]) is not None],
            non2xx=sum(int(num(r["non2xx"]) or 0) for r in rs),
            sock=socks,
            foreign=max((num(r["foreign_cpu_pct"]) or 0) for r in rs),
            bg=max((num(r["bg_busy_pct"]) or 0) for r in rs),
        )
    return agg


def names_in(keys):
    present = {k[0] for k in keys}
    return [n for n in ORDER if n in present] + sorted(present - set(ORDER))


def route_tables(agg, out):
    wrk = {k: v for k, v in agg.items() if k[2] == "wrk"}
    configs = sorted({k[1] for k in wrk}, key=lambda c: (c != "1w-pinned", c))
    names = names_in(wrk)
    for cfg in configs:
        out.append(f"\n### {cfg}\n")
        routes = sorted({(k[3], k[4]) for k in wrk if k[1] == cfg}, key=lambda r: route_key(*r))
        for path, conns in routes:
            cell = {n: wrk.get((n, cfg, "wrk", path, conns)) for n in names}
            cell = {n: c for n, c in cell.items() if c}
            floor = cell.get("floor")
            out.append(f"\n#### {route_label(path, conns)}\n")
            if "|p" in path:
                out.append("(no latencies: wrk times only one response per pipelined batch)\n")
            out.append("| framework | req/s | p50 ms | p99 ms | server CPU µs/req "
                       "| req/s ÷ best peer | p99 ÷ best peer | CPU ÷ best peer | req/s ÷ floor | CPU ÷ floor | notes |")
            out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
            for n, c in cell.items():
                peers = PY_PEERS if n in PY_SIDE else RUST_PEERS
                pc = [cell[p] for p in peers if p in cell]
                best_rps = max((p["rps"] for p in pc if p["rps"]), default=None)
                best_p99 = min((p["p99"] for p in pc if p["p99"]), default=None)
                best_cpu = min((p["cpu"] for p in pc if p["cpu"]), default=None)
                notes = []
                if c["n"] > 1 and c["rps"]:
                    notes.append(f"±{(max(c['rps_all']) - min(c['rps_all'])) / c['rps'] / 2 * 100:.0f}% over {c['n']} reps")
                if c["non2xx"]:
                    notes.append(f"non-2xx {c['non2xx']}")
                if c["sock"]:
                    notes.append("socket errors " + " ".join(c["sock"]))
                if c["foreign"] > FOREIGN_MAX:
                    notes.append(f"other load {c['foreign']:.0f}%")
                out.append(
                    f"| {LABEL.get(n, n)} | {fmt(c['rps'])} | {fmt(c['p50'], '.2f')} | {fmt(c['p99'], '.2f')} "
                    f"| {fmt(c['cpu'], '.2f')} | {ratio(c['rps'], best_rps)} | {ratio(c['p99'], best_p99)} "
                    f"| {ratio(c['cpu'], best_cpu)} | {ratio(c['rps'], floor and floor['rps'])} "
                    f"| {ratio(c['cpu'], floor and floor['cpu'])} | {'; '.join(notes)} |")
    return configs


def oha_table(agg, out):
    oha = {k: v for k, v in agg.items() if k[2] == "oha"}
    if not oha:
        return
    out.append("\n### oha cross-check (one run per server) against wrk in the same config\n")
    out.append("| framework | config | route | oha req/s | oha p50/p99 ms | oha CPU µs/req | wrk req/s | oha ÷ wrk |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|")
    for n in names_in(oha):
        for k, o in sorted((k, v) for k, v in oha.items() if k[0] == n):
            w = agg.get((n, k[1], "wrk", k[3], k[4]))
            out.append(f"| {LABEL.get(n, n)} | {k[1]} | {k[3]} c{k[4]} | {fmt(o['rps'])} "
                       f"| {fmt(o['p50'], '.2f')}/{fmt(o['p99'], '.2f')} | {fmt(o['cpu'], '.2f')} "
                       f"| {fmt(w and w['rps'])} | {ratio(o['rps'], w and w['rps'])} |")


def instructions_table(rows, out):
    if not rows:
        return
    out.append("\n### User-space instructions per request (callgrind; instructions.sh)\n")
    paths = sorted({r["path"] for r in rows}, key=lambda p: route_key(p, 0))
    by = {(r["name"], r["path"]): num(r["instr_per_req"]) for r in rows}
    out.append("| server | " + " | ".join(paths) + " | " + " | ".join(f"{p} ÷ may-minihttp" for p in paths) + " |")
    out.append("|---|" + "---:|" * (2 * len(paths)))
    for n in names_in({(r["name"],) for r in rows}):
        vals = [by.get((n, p)) for p in paths]
        rel = [ratio(by.get((n, p)), by.get(("minihttp", p))) for p in paths]
        out.append(f"| {LABEL.get(n, n)} | " + " | ".join(fmt(v) for v in vals) + " | " + " | ".join(rel) + " |")
    reqs = sorted({r["requests"] for r in rows})
    out.append(f"\n{'/'.join(reqs)} requests per measurement over keep-alive connections, after a warm-up; "
               "the floor answers every path with its fixed plaintext response.")


def memory_table(rows, out):
    if not rows:
        return
    out.append("\n### Memory (memory.sh)\n")
    out.append("| server | measurement | value | notes |")
    out.append("|---|---|---:|---|")
    for r in rows:
        out.append(f"| {LABEL.get(r['name'], r['name'])} | {r['metric']} | {r['value']} {r['unit']} | {r.get('notes', '')} |")


def targets(agg, instr, mem, out):
    """Issue 6's targets, checked row by row; lists every miss with its size."""
    checks, misses = 0, []

    def check(ok, what):
        nonlocal checks
        checks += 1
        if not ok:
            misses.append(what)

    wrk = {k: v for k, v in agg.items() if k[2] == "wrk"}
    for (name, cfg, _, path, conns), me in sorted(wrk.items()):
        if name not in ("fasterapi", "fasterapi-py"):
            continue
        peers = [v for k, v in wrk.items() if k[1:] == (cfg, "wrk", path, conns)
                 and k[0] in (PY_PEERS if name == "fasterapi-py" else RUST_PEERS)]
        where = f"{LABEL[name]}, {cfg}, {route_label(path, conns)}"
        best_rps = max((p["rps"] for p in peers if p["rps"]), default=None)
        best_p99 = min((p["p99"] for p in peers if p["p99"]), default=None)
        best_cpu = min((p["cpu"] for p in peers if p["cpu"]), default=None)
        if best_rps and me["rps"]:
            check(me["rps"] >= best_rps, f"{where}: req/s {me['rps']:,.0f} = {me['rps'] / best_rps:.2f}x the best peer's")
        if best_p99 and me["p99"]:
            check(me["p99"] <= best_p99, f"{where}: p99 {me['p99']:.2f} ms = {me['p99'] / best_p99:.2f}x the best peer's")
        if best_cpu and me["cpu"]:
            check(me["cpu"] < best_cpu, f"{where}: CPU {me['cpu']:.2f} µs/req = {me['cpu'] / best_cpu:.2f}x the most frugal peer's")
        floor = wrk.get(("floor", cfg, "wrk", path, conns))
        if name == "fasterapi" and floor and floor["cpu"] and me["cpu"]:
            check(me["cpu"] <= 1.1 * floor["cpu"], f"{where}: CPU {me['cpu'] / floor['cpu']:.2f}x the floor's (target ≤ 1.10x)")
    ins = {(r["name"], r["path"]): num(r["instr_per_req"]) for r in instr}
    for (name, path), v in sorted(ins.items()):
        m = ins.get(("minihttp", path))
        if name == "fasterapi" and v and m:
            check(v < m, f"instructions per request on {path}: {v:,.0f} = {v / m:.2f}x may-minihttp's")
    for r in mem:
        v = num(r["value"])
        if r["name"] != "fasterapi" or v is None:
            continue
        if r["metric"] == "idle_rss":
            check(v < 10, f"idle RSS {v} MB (target < 10 MB)")
        elif r["metric"] == "rss_10000_idle_conns":
            check(v < 100, f"RSS with 10,000 idle connections {v} MB (target < 100 MB)")
        elif r["metric"] == "soak_growth":
            check(v < 10, f"soak growth {v}% (target < 10%)")
    if checks:
        out.append(f"\n### Targets (issue 6): {checks - len(misses)} of {checks} checks met\n")
        out.extend(f"- missed: {m}" for m in misses)
        if not misses:
            out.append("- all met")


def chart(agg, configs, svg):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    wrk = {k: v for k, v in agg.items() if k[2] == "wrk" and k[4] == "64"}
    routes = sorted({k[3] for k in wrk}, key=lambda p: route_key(p, 64))
    names = names_in(wrk)
    if not routes or not names:
        return False
    rows = [(cfg, metric) for cfg in configs for metric in ("rps", "p99")]
    fig, axes = plt.subplots(len(rows), len(routes), squeeze=False,
                             figsize=(3.6 * len(routes), 0.32 * len(names) * len(rows) + 1.2 * len(rows)))
    cmap = plt.get_cmap("tab10")
    colors = {n: cmap(i % 10) for i, n in enumerate(ORDER + sorted(set(names) - set(ORDER)))}
    for i, (cfg, metric) in enumerate(rows):
        for j, path in enumerate(routes):
            ax = axes[i][j]
            vals = [(wrk.get((n, cfg, "wrk", path, "64")) or {}).get(metric) for n in names]
            if not any(vals):
                ax.text(0.5, 0.5, "not measured" + (" (pipelined)" if "|p" in path else ""),
                        ha="center", va="center", fontsize=8, transform=ax.transAxes)
            ys = list(range(len(names)))[::-1]
            ax.barh(ys, [v or 0 for v in vals], color=[colors[n] for n in names])
            ax.set_yticks(ys)
            ax.set_yticklabels([LABEL.get(n, n) for n in names] if j == 0 else [], fontsize=8)
            top = max([v for v in vals if v] or [1])
            for y, v in zip(ys, vals):
                if v:
                    ax.text(v + top * 0.01, y, f"{v:,.0f}" if metric == "rps" else f"{v:.2f}",
                            va="center", fontsize=7)
            ax.set_xlim(0, top * 1.3)
            ax.tick_params(axis="x", labelsize=7)
            if metric == "rps":
                ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x / 1000:g}k"))
            title = path.replace("|p", " pipelined x")
            ax.set_title(f"{cfg}: {title}\n{'req/s (higher is better)' if metric == 'rps' else 'p99 ms (lower is better)'}",
                         fontsize=8)
    fig.suptitle("fasterapi and peers, wrk, 64 connections (median over repeats)", fontsize=10)
    fig.tight_layout()
    fig.savefig(svg)  # format from the extension (.svg, .png)
    plt.close(fig)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="run.sh's output directory")
    ap.add_argument("--md", help="write the Markdown here instead of stdout")
    ap.add_argument("--svg", default=os.path.join(HERE, "..", "results.svg"), help="chart file ('' = none)")
    a = ap.parse_args()
    a.svg = a.svg and os.path.normpath(a.svg)

    results = read_tsv(os.path.join(a.out, "results.tsv"))
    meta = {r["key"]: r["value"] for r in read_tsv(os.path.join(a.out, "meta.tsv"))}
    out = []
    agg = aggregate(results)
    if results:
        out.append(f"## Load comparison ({meta.get('date', 'date unknown')})\n")
        out.append("Median over repeats. Server CPU µs/req: utime+stime of the server's process group over the "
                   "run, divided by the requests answered. Ratios: to the best peer in the row's language "
                   "(Rust: may-minihttp, actix-web, axum; Python: Robyn, Granian, FastAPI) — req/s and p99 of "
                   "the peer best at each, CPU of the most frugal — and to the floor. \"other load\": other "
                   "processes used that % of the machine during the run (measured again and still above "
                   f"{FOREIGN_MAX}%: read such rows with care).")
        configs = route_tables(agg, out)
        oha_table(agg, out)
    else:
        configs = []
        out.append("(no results.tsv: run benches/load/run.sh first)")
    instr = read_tsv(os.path.join(a.out, "instructions.tsv"))
    mem = read_tsv(os.path.join(a.out, "memory.tsv"))
    instructions_table(instr, out)
    memory_table(mem, out)
    targets(agg, instr, mem, out)

    versions = read_tsv(os.path.join(a.out, "versions.tsv"))
    if versions:
        out.append("\n### Versions\n")
        out.append("| component | version |")
        out.append("|---|---|")
        out.extend(f"| {v['framework']} | {v['version']} |" for v in versions)
        out.extend(f"| {t} | {meta[t]} |" for t in ("wrk", "oha", "rustc", "python") if t in meta)

    cmds = read_tsv(os.path.join(a.out, "commands.tsv"))
    if meta or cmds:
        out.append("\n### Commands\n")
        out.append("```")
        for key in ("command", "settings", "wrk_cmd", "oha_cmd"):
            if key in meta:
                out.append(f"# {key}: {meta[key]}")
        for c in {(c["config"], c["name"], c["command"]): c for c in cmds}.values():
            out.append(f"[{c['config']}] {c['name']}: {c['command']}")
        out.append("```")

    nproc = meta.get("nproc") or str(os.cpu_count())
    model = meta.get("cpu_model") or "unknown"
    kernel = meta.get("kernel") or " ".join(os.uname()[i] for i in (0, 2, 4))
    out.append(f"\nMachine: {nproc} CPUs (`nproc`), {model}, kernel {kernel}. "
               "Configs: 1w-pinned = 1 worker, server on core 0 and the client on core 1 (taskset); "
               "2w-unpinned = 2 workers, nothing pinned from outside (the floor runs one thread per worker).")

    if results and a.svg:
        if chart(agg, configs, a.svg):
            out.append(f"\n![req/s and p99 per framework per route]({os.path.relpath(a.svg, os.path.join(HERE, '..'))})")
            print(f"report.py: chart written to {a.svg}", file=sys.stderr)

    text = "\n".join(out) + "\n"
    if a.md:
        with open(a.md, "w") as f:
            f.write(text)
        print(f"report.py: Markdown written to {a.md}", file=sys.stderr)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
