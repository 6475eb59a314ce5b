"""Tables and charts of a benches/tfb/run.sh run: median req/s over the repeats per server and
test type, p99 latency, server CPU per request, and ratios (Rust handlers against the best Rust
peer, Python handlers against FastAPI on uvicorn). Servers that failed the verifier are listed,
not ranked.

    benches/load/out/venv/bin/python benches/tfb/report.py benches/tfb/out/tfb [--md FILE] [--svg FILE]

Markdown goes to stdout (and --md), the chart (one panel per test type) to --svg
(default benches/tfb/results.svg).
"""
import argparse
import csv
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = ["json", "plaintext", "db", "queries", "fortunes", "updates", "cached"]
TITLES = {"json": "JSON", "plaintext": "plaintext (pipelined 16)", "db": "single query",
          "queries": "multiple queries (20)", "fortunes": "fortunes", "updates": "updates (20)",
          "cached": "cached queries (100)"}
RUST = ["fasterapi-rs", "actix", "axum", "minihttp"]
PYTHON = ["fasterapi-py", "fasterapi-py-sync", "fasterapi-py-pg", "fastapi-uvicorn", "fastapi-granian", "robyn"]


def read_tsv(path):
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def aggregate(rows):
    """{(server, test): {rps, p99, cpu_us, db_us}} medians over repeats."""
    groups = {}
    for r in rows:
        groups.setdefault((r["server"], r["test"]), []).append(r)
    agg = {}
    for key, rs in groups.items():
        rps = [num(r["req_s"]) for r in rs if num(r["req_s"])]
        p99 = [num(r["p99_ms"]) for r in rs if num(r["p99_ms"])]
        cpu = [num(r["srv_cpu_s"]) * 1e6 / num(r["requests"]) for r in rs
               if num(r["srv_cpu_s"]) is not None and num(r["requests"])]
        # PostgreSQL's CPU (older results have no such column)
        db = [num(r.get("db_cpu_s")) * 1e6 / num(r["requests"]) for r in rs
              if num(r.get("db_cpu_s")) is not None and num(r["requests"])]
        agg[key] = {"rps": statistics.median(rps) if rps else None,
                    "p99": statistics.median(p99) if p99 else None,
                    "cpu_us": statistics.median(cpu) if cpu else None,
                    "db_us": statistics.median(db) if db else None,
                    "non2xx": sum(int(r["non2xx"] or 0) for r in rs)}
    return agg


def fmt(x, spec=",.0f"):
    return "—" if x is None else format(x, spec)


def tables(agg, meta):
    out = []
    servers = [s for s in RUST + PYTHON if any((s, t) in agg for t in TESTS)]
    tests = [t for t in TESTS if any((s, t) in agg for s in servers)]
    out.append("| test type | " + " | ".join(servers) + " |")
    out.append("|---|" + "---:|" * len(servers))
    for t in tests:
        out.append(f"| {TITLES[t]} | " + " | ".join(fmt((agg.get((s, t)) or {}).get("rps")) for s in servers) + " |")
    out.append("")
    out.append("req/s, median over repeats. Ratios: Rust handlers against the best Rust peer, "
               "Python handlers against FastAPI on uvicorn and against the best other Python peer.")
    out.append("")
    out.append("| test type | fasterapi-rs / best Rust peer | fasterapi-py / fastapi-uvicorn | "
               "fasterapi-py / best of granian, robyn | fasterapi-py-sync / fastapi-uvicorn | "
               "fasterapi-py-sync / best of granian, robyn | fasterapi-py-pg / fastapi-uvicorn |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")

    def rps(s, t):
        return (agg.get((s, t)) or {}).get("rps")

    def ratio(a, b):
        return f"{a / b:.2f}x" if a and b else "—"

    for t in tests:
        best_rust = max([rps(s, t) or 0 for s in ("actix", "axum", "minihttp")]) or None
        best_py = max([rps(s, t) or 0 for s in ("fastapi-granian", "robyn")]) or None
        out.append(f"| {TITLES[t]} | {ratio(rps('fasterapi-rs', t), best_rust)} | "
                   f"{ratio(rps('fasterapi-py', t), rps('fastapi-uvicorn', t))} | "
                   f"{ratio(rps('fasterapi-py', t), best_py)} | "
                   f"{ratio(rps('fasterapi-py-sync', t), rps('fastapi-uvicorn', t))} | "
                   f"{ratio(rps('fasterapi-py-sync', t), best_py)} | "
                   f"{ratio(rps('fasterapi-py-pg', t), rps('fastapi-uvicorn', t))} |")
    db_tests = [t for t in tests if t not in ("json", "plaintext", "cached")]
    if db_tests:
        out.append("")
        out.append("CPU per request, µs: the server's + PostgreSQL's (all of its processes), medians "
                   "over repeats. On the database tests the database shares the cores with the "
                   "server, so the sum is what bounds req/s.")
        out.append("")
        out.append("| test type | " + " | ".join(servers) + " |")
        out.append("|---|" + "---:|" * len(servers))

        def total(s, t):
            a = agg.get((s, t)) or {}
            if a.get("cpu_us") is None or a.get("db_us") is None:
                return "—"
            return f"{a['cpu_us']:,.1f} + {a['db_us']:,.1f}"

        for t in db_tests:
            out.append(f"| {TITLES[t]} | " + " | ".join(total(s, t) for s in servers) + " |")
    for t in tests:
        out.append("")
        out.append(f"**{TITLES[t]}**")
        out.append("")
        db_test = t not in ("json", "plaintext", "cached")
        out.append("| server | req/s | p99 ms | server CPU µs/req | db CPU µs/req | non-2xx |"
                   if db_test else "| server | req/s | p99 ms | server CPU µs/req | non-2xx |")
        out.append("|---|---:|---:|---:|---:|---:|" if db_test else "|---|---:|---:|---:|---:|")
        for s in servers:
            a = agg.get((s, t))
            if a:
                db = f" {fmt(a['db_us'], ',.1f')} |" if db_test else ""
                out.append(f"| {s} | {fmt(a['rps'])} | {fmt(a['p99'], '.2f')} | {fmt(a['cpu_us'], ',.1f')} |{db} {a['non2xx']} |")
    failed = meta.get("failed", "").split()
    if failed:
        out.append("")
        out.append(f"Failed the verifier (not ranked): {', '.join(failed)}.")
    return "\n".join(out)


def chart(agg, svg):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tests = [t for t in TESTS if any(k[1] == t for k in agg)]
    servers = [s for s in RUST + PYTHON if any((s, t) in agg for t in tests)]
    if not tests:
        return False
    cols = 4
    rows = (len(tests) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(4.2 * cols, 0.3 * len(servers) * rows + 1.4 * rows))
    cmap = plt.get_cmap("tab10")
    colors = {s: cmap(i % 10) for i, s in enumerate(RUST + PYTHON)}
    for i, t in enumerate(tests):
        ax = axes[i // cols][i % cols]
        vals = [(agg.get((s, t)) or {}).get("rps") for s in servers]
        ys = list(range(len(servers)))[::-1]
        ax.barh(ys, [v or 0 for v in vals], color=[colors[s] for s in servers])
        ax.set_yticks(ys)
        ax.set_yticklabels(servers if i % cols == 0 else [], fontsize=8)
        top = max([v for v in vals if v] or [1])
        for y, v in zip(ys, vals):
            ax.text((v or 0) + top * 0.01, y, fmt(v), va="center", fontsize=7)
        ax.set_xlim(0, top * 1.35)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(f"{TITLES[t]}: req/s", fontsize=9)
    for j in range(len(tests), rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle("TechEmpower test types, PostgreSQL, this 2-core machine (median over repeats)", fontsize=10)
    fig.tight_layout()
    fig.savefig(svg)
    plt.close(fig)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="the run's output folder (results.tsv, meta.tsv)")
    ap.add_argument("--md", help="also write the markdown here")
    ap.add_argument("--svg", default=os.path.join(HERE, "results.svg"), help="chart file ('' = none)")
    a = ap.parse_args()
    agg = aggregate(read_tsv(os.path.join(a.out, "results.tsv")))
    meta = {r["key"]: r["value"] for r in read_tsv(os.path.join(a.out, "meta.tsv"))}
    md = tables(agg, meta)
    md += f"\n\n{meta.get('nproc', '?')} cores ({meta.get('cpu_model', '?')}), {meta.get('postgres', '')}; " \
          f"{meta.get('settings', '')}; {meta.get('date', '')}."
    if a.svg and chart(agg, a.svg):
        md += f"\n\n![req/s per server per test type]({os.path.relpath(a.svg, os.path.join(HERE, '..'))})"
        print(f"report.py: chart written to {a.svg}", file=sys.stderr)
    print(md)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md + "\n")


if __name__ == "__main__":
    main()
