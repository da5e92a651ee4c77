#!/usr/bin/env python3
"""Turns the raw outputs of ci/bench/run.sh into one Markdown table of figures and goals.

Usage: figures.py OUT_DIR RESULTS_MD
       figures.py --noise OUT_DIR LABEL   (prints the other processes' CPU % during LABEL)

Reads, in OUT_DIR, LABEL.out (the tool's stdout), LABEL.time (/usr/bin/time -v),
LABEL.snap0/.snap1 (CPU counters around the run) for the labels closed-R-{wrk,oha,golive},
open-R, mem-long and mem-short, mem-*.rss (VmRSS samples), quiet.txt and facts.json; prints the Markdown and writes it to RESULTS_MD. Exits 0 whatever the
goals say (the table says it); exits 1 only when an output cannot be read.
"""

import glob
import json
import os
import re
import statistics
import sys

MB = 1024 * 1024

# The goals, each in one place.
GOAL_VS_WRK = 1.0  # golive rps / wrk rps at least
GOAL_VS_OHA = 1.2  # golive rps / oha rps at least
GOAL_P50_WITHIN = 0.10  # |golive p50 / wrk p50 - 1| at most
GOAL_OPEN_RPS_WITHIN = 0.01  # |achieved / target - 1| at most
GOAL_SEND_LAG_P99_MS = 1.0  # send_lag_ms.p99 below
GOAL_PEAK_MB = 64.0  # peak RSS below
GOAL_GROWTH = 0.05  # last-minute VmRSS / first-minute VmRSS - 1 at most
GOAL_PEAK_SCALING = 0.10  # peak(long) / peak(short) - 1 at most


def wrk(path):
    text = open(path).read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not rps or not p50:
        raise ValueError(f"{path}: not wrk --latency output")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p50.group(2)]
    errors = 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non2xx:
        errors += int(non2xx.group(1))
    total = re.search(r"(\d+) requests in", text)
    return {
        "rps": float(rps.group(1)),
        "p50_ms": float(p50.group(1)) * scale,
        "requests": int(total.group(1)) if total else None,
        "errors": errors,
    }


def oha(path):
    j = json.load(open(path))
    s = j["summary"]
    codes = j.get("statusCodeDistribution", {})
    ok = sum(v for k, v in codes.items() if str(k).startswith(("2", "3")))
    bad = sum(v for k, v in codes.items() if not str(k).startswith(("2", "3")))
    errors = bad + sum(j.get("errorDistribution", {}).values())
    p = j.get("latencyPercentiles", {})
    p50 = p.get("p50")
    return {
        "rps": float(s["requestsPerSec"]),
        "p50_ms": float(p50) * 1e3 if p50 is not None else None,
        "requests": ok + bad,
        "errors": errors,
    }


def golive(path):
    j = json.load(open(path))
    return {
        "rps": float(j["rps"]),
        "p50_ms": float(j["latency_ms"]["p50"]) if j.get("latency_ms") else None,
        "requests": j["requests"],
        "errors": j["errors"],
        "raw": j,
    }


PARSE = {"wrk": wrk, "oha": oha, "golive": golive}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, digits=0):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def verdict(ok):
    if ok is None:
        return "n/a"
    return "PASS" if ok else "**FAIL**"


def rss_series(path):
    out = []
    if os.path.exists(path):
        for line in open(path):
            parts = line.split()
            if len(parts) == 2:
                out.append((int(parts[0]), int(parts[1]) * 1024))
    return out


def time_v(path):
    text = open(path).read()
    get = lambda key: re.search(re.escape(key) + r":\s*([\d.]+)", text)  # noqa: E731
    user, system, rss = get("User time (seconds)"), get("System time (seconds)"), get(
        "Maximum resident set size (kbytes)"
    )
    return {
        "cpu_s": float(user.group(1)) + float(system.group(1)) if user and system else None,
        "peak_rss": int(rss.group(1)) * 1024 if rss else None,
    }


def cpu(out, label):
    """CPU use during one run, in percent of one core: the tool, nginx, everything else."""
    try:
        a = open(os.path.join(out, label + ".snap0")).read().split()
        b = open(os.path.join(out, label + ".snap1")).read().split()
        tool = time_v(os.path.join(out, label + ".time"))["cpu_s"]
    except (OSError, IndexError):
        return None
    # snap0: busy nginx steal / time; snap1: the same, then hz rc.
    hz = float(b[4])
    secs = float(b[3]) - float(a[3])
    busy = (int(b[0]) - int(a[0])) / hz
    nginx = (int(b[1]) - int(a[1])) / hz
    steal = (int(b[2]) - int(a[2])) / hz
    if secs <= 0 or tool is None:
        return None
    pct = lambda x: 100 * x / secs  # noqa: E731
    return {
        "tool": pct(tool),
        "nginx": pct(nginx),
        "other": max(0.0, pct(busy - nginx - tool)),
        "steal": pct(steal),
    }


def main():
    if sys.argv[1] == "--noise":
        c = cpu(sys.argv[2], sys.argv[3])
        print(round(c["other"]) if c else 0)
        return
    out, results = sys.argv[1], sys.argv[2]
    facts = json.load(open(os.path.join(out, "facts.json")))
    rounds = {t: [] for t in PARSE}
    for tool, parse in PARSE.items():
        for f in sorted(glob.glob(os.path.join(out, f"closed-*-{tool}.out"))):
            r = int(re.search(r"closed-(\d+)-", f).group(1))
            x = parse(f)
            x["cpu"] = cpu(out, f"closed-{r}-{tool}")
            t = time_v(os.path.join(out, f"closed-{r}-{tool}.time"))["cpu_s"]
            x["per_cpu_s"] = x["requests"] / t if t and x.get("requests") else None
            rounds[tool].append((r, x))
    rps = {t: med([x["rps"] for _, x in rs]) for t, rs in rounds.items()}
    p50 = {t: med([x["p50_ms"] for _, x in rs]) for t, rs in rounds.items()}
    eff = {t: med([x["per_cpu_s"] for _, x in rs]) for t, rs in rounds.items()}
    errs = {t: sum(x["errors"] or 0 for _, x in rs) for t, rs in rounds.items()}
    ratio = lambda a, b: a / b if a is not None and b else None  # noqa: E731
    vs_wrk, vs_oha = ratio(rps["golive"], rps["wrk"]), ratio(rps["golive"], rps["oha"])
    p50_ratio = ratio(p50["golive"], p50["wrk"])
    conns = float(facts["connections"])
    norm = {
        t: med([x["p50_ms"] / 1e3 * x["rps"] / conns for _, x in rs if x["p50_ms"] is not None])
        for t, rs in rounds.items()
    }
    p50_oha_ratio = ratio(p50["golive"], p50["oha"])

    open_files = sorted(
        (f for f in glob.glob(os.path.join(out, "open-*.out"))
         if re.search(r"open-\d+\.out$", f)),
        key=lambda f: int(re.search(r"open-(\d+)", f).group(1)),
    )
    redone = sorted({re.sub(r"\.noisy\d+\..*$", "", os.path.basename(f))
                     for f in glob.glob(os.path.join(out, "*.noisy*.out"))})
    opens = [golive(f)["raw"] for f in open_files]
    open_cpu = [cpu(out, os.path.basename(f)[:-4]) for f in open_files]
    target = float(facts["open_rate"])
    open_rps = [o["rps"] for o in opens]
    open_lag = [(o.get("send_lag_ms") or {}).get("p99") for o in opens]
    open_rps_ok = [abs(x / target - 1) <= GOAL_OPEN_RPS_WITHIN for x in open_rps]
    open_lag_ok = [x is not None and x < GOAL_SEND_LAG_P99_MS for x in open_lag]

    long_s, short_s = facts["mem_long_secs"], facts["mem_short_secs"]
    peak_long = time_v(os.path.join(out, "mem-long.time"))["peak_rss"]
    peak_short = time_v(os.path.join(out, "mem-short.time"))["peak_rss"]
    series = rss_series(os.path.join(out, "mem-long.rss"))
    window = min(60, long_s / 2)
    first = [b for t, b in series if t <= window]
    last = [b for t, b in series if t > long_s - window]
    first_mb = med(first) / MB if first else None
    last_mb = med(last) / MB if last else None
    growth = last_mb / first_mb - 1 if first_mb and last_mb else None
    scaling = peak_long / peak_short - 1 if peak_long and peak_short else None
    mem_long = golive(os.path.join(out, "mem-long.out"))
    mem_short = golive(os.path.join(out, "mem-short.out"))
    mem_cpu = {"long": cpu(out, "mem-long"), "short": cpu(out, "mem-short")}

    quiet = []
    qpath = os.path.join(out, "quiet.txt")
    if os.path.exists(qpath):
        for line in open(qpath):
            parts = line.split()
            if len(parts) == 3:
                quiet.append((parts[0], int(parts[1]), int(parts[2])))
    busy_runs = [q for q in quiet if q[1] > facts.get("quiet_busy", 10)]

    n = len(rounds["golive"])
    lines = []
    w = lines.append
    w("# golive load benchmark")
    w("")
    w(f"- Date: {facts['date']}; golive commit {facts['golive']}")
    w(f"- Machine: {facts['nproc']} cores, {facts['cpu']}, Linux {facts['kernel']}")
    w(f"- Peers: {facts['wrk']}; {facts['oha']}; {facts['nginx']}")
    w(
        f"- Target: nginx, 1 worker on core {facts['target_core']}, 2-byte static file, "
        f"access log off; load tools on core {facts['load_core']}."
    )
    w(
        f"- Closed model: {n} interleaved rounds (order rotates) of {facts['secs']} s per tool "
        f"at {facts['connections']} keep-alive connections; figures are medians over rounds."
    )
    if busy_runs:
        w(
            f"- **{len(busy_runs)} of {len(quiet)} runs started on a busy machine** "
            f"(other processes over {facts.get('quiet_busy', 10)}% of all cores after waiting "
            f"{facts.get('quiet_wait')} s): "
            + ", ".join(f"{q[0]} ({q[1]}%)" for q in busy_runs)
            + ". Their figures are suspect."
        )
    if redone:
        w(
            f"- Run again because other processes used over {facts.get('noise_max')}% of a core "
            f"during them: {', '.join(redone)} (the noisy outputs are kept as *.noisyN.*)."
        )
    noisy_kept = [f"closed-{r}-{t}" for t, rs in rounds.items() for r, x in rs
                  if x["cpu"] and round(x["cpu"]["other"]) > facts.get("noise_max", 15)]
    noisy_kept += [f"open-{i}" for i, c in enumerate(open_cpu, 1)
                   if c and round(c["other"]) > facts.get("noise_max", 15)]
    if noisy_kept:
        w(f"- **Kept although other processes used over {facts.get('noise_max')}% of a core "
          f"during them (figures suspect): {', '.join(noisy_kept)}.**")
    if quiet and not busy_runs:
        w(f"- All {len(quiet)} runs started on an idle machine (≤ {facts.get('quiet_busy', 10)}% busy).")
    if facts.get("quick"):
        w("- **BENCH_QUICK=1: shortened run, not the figures of record.**")
    w("")
    w("## Goals")
    w("")
    w("| Goal | Figure | Bound | Result |")
    w("| --- | --- | --- | --- |")
    w(
        f"| Throughput vs wrk | golive/wrk = {fmt(vs_wrk, 3)} "
        f"({fmt(rps['golive'])} / {fmt(rps['wrk'])} req/s) | ≥ {GOAL_VS_WRK} "
        f"| {verdict(vs_wrk is not None and vs_wrk >= GOAL_VS_WRK)} |"
    )
    w(
        f"| Throughput vs oha | golive/oha = {fmt(vs_oha, 3)} "
        f"({fmt(rps['golive'])} / {fmt(rps['oha'])} req/s) | ≥ {GOAL_VS_OHA} "
        f"| {verdict(vs_oha is not None and vs_oha >= GOAL_VS_OHA)} |"
    )
    w(
        f"| p50 latency vs wrk | golive/wrk = {fmt(p50_ratio, 3)} "
        f"({fmt(p50['golive'], 3)} / {fmt(p50['wrk'], 3)} ms) | within ±{GOAL_P50_WITHIN:.0%} "
        f"| {verdict(p50_ratio is not None and abs(p50_ratio - 1) <= GOAL_P50_WITHIN)} |"
    )
    w(
        f"| Open model rate | achieved/target = {fmt(ratio(med(open_rps), target), 4)} "
        f"(median {fmt(med(open_rps), 1)} of {fmt(target)} req/s; "
        f"{sum(open_rps_ok)}/{len(opens)} runs within) | within ±{GOAL_OPEN_RPS_WITHIN:.0%} "
        f"| {verdict(bool(opens) and abs(med(open_rps) / target - 1) <= GOAL_OPEN_RPS_WITHIN)} |"
    )
    w(
        f"| Open model send lag | send_lag p99 = {fmt(med(open_lag), 3)} ms (median; "
        f"{sum(open_lag_ok)}/{len(opens)} runs below) | < {GOAL_SEND_LAG_P99_MS} ms "
        f"| {verdict(bool(opens) and med(open_lag) is not None and med(open_lag) < GOAL_SEND_LAG_P99_MS)} |"
    )
    w(
        f"| Peak RSS, {long_s} s at max rate | {fmt(peak_long / MB if peak_long else None, 1)} MB "
        f"| < {GOAL_PEAK_MB:.0f} MB "
        f"| {verdict(peak_long is not None and peak_long / MB < GOAL_PEAK_MB)} |"
    )
    w(
        f"| No growth within the run | VmRSS last minute / first minute = "
        f"{fmt(last_mb, 1)} / {fmt(first_mb, 1)} MB ({'n/a' if growth is None else f'{growth:+.1%}'}) "
        f"| ≤ +{GOAL_GROWTH:.0%} | {verdict(None if growth is None else growth <= GOAL_GROWTH)} |"
    )
    w(
        f"| Peak does not scale with duration | peak {long_s} s / peak {short_s} s = "
        f"{fmt(peak_long / MB if peak_long else None, 1)} / "
        f"{fmt(peak_short / MB if peak_short else None, 1)} MB "
        f"({'n/a' if scaling is None else f'{scaling:+.1%}'}) | ≤ +{GOAL_PEAK_SCALING:.0%} "
        f"| {verdict(None if scaling is None else scaling <= GOAL_PEAK_SCALING)} |"
    )
    w("")
    w("## Closed model, per tool (medians)")
    w("")
    w("| Tool | req/s (median) | req/s per round | p50 ms (median) | errors (all rounds) "
      "| golive ratio (req/s) | golive ratio (p50) | requests per CPU-second of the tool "
      "| golive ratio (requests per CPU-s) |")
    w("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for t in PARSE:
        per = ", ".join(fmt(x["rps"]) for _, x in sorted(rounds[t], key=lambda y: y[0]))
        rr = ratio(rps["golive"], rps[t])
        pr = ratio(p50["golive"], p50[t])
        w(
            f"| {t} | {fmt(rps[t])} | {per} | {fmt(p50[t], 3)} | {errs[t]} "
            f"| {fmt(rr, 3)} | {fmt(pr, 3)} | {fmt(eff[t])} | {fmt(ratio(eff['golive'], eff[t]), 3)} |"
        )
    w("")
    w("When nginx's core is the limit (nginx CPU near 100% in the table below), every tool")
    w("reaches about the same req/s and the throughput ratios say little about the tools;")
    w("requests per CPU-second of the load tool is then the figure that compares them.")
    w("")
    w(f"golive p50 / oha p50 = {fmt(p50_oha_ratio, 3)} (for information; the goal is against wrk).")
    w("")
    w("In the closed model each connection has one request in flight, so the mean latency is")
    w("connections ÷ req/s (Little's law) and a tool that got more req/s in its rounds also")
    w("reports a lower p50. p50 × req/s ÷ connections takes the throughput out: medians "
      + ", ".join(f"{t} {fmt(norm[t], 3)}" for t in PARSE)
      + f"; golive/wrk = {fmt(ratio(norm['golive'], norm['wrk']), 3)} (for information).")
    w("")
    w("CPU in percent of one core during each run: the load tool (on its own core), nginx (on")
    w("its own core), and every other process on the machine (noise; should be near 0), steal")
    w("(CPU time the hypervisor gave elsewhere) included.")
    w("")
    w("| Round | Tool | req/s | p50 ms | tool CPU % | nginx CPU % | other CPU % | of which steal % |")
    w("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in sorted({r for rs in rounds.values() for r, _ in rs}):
        for t in PARSE:
            for rr, x in rounds[t]:
                if rr == r:
                    c = x["cpu"] or {}
                    w(
                        f"| {r} | {t} | {fmt(x['rps'])} | {fmt(x['p50_ms'], 3)} "
                        f"| {fmt(c.get('tool'))} | {fmt(c.get('nginx'))} | {fmt(c.get('other'))} "
                        f"| {fmt(c.get('steal'))} |"
                    )
    w("")
    w(f"## Open model: {fmt(target)}/s for {facts['open_secs']} s over {facts['connections']} connections")
    w("")
    w("| Run | req/s | achieved/target | send_lag p50 ms | send_lag p99 ms | send_lag max ms "
      "| latency p50 ms | latency p99 ms | dropped | late | errors | golive CPU % | other CPU % | steal % |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for i, (o, c) in enumerate(zip(opens, open_cpu), 1):
        lag = o.get("send_lag_ms") or {}
        lat = o.get("latency_ms") or {}
        c = c or {}
        w(
            f"| {i} | {fmt(o['rps'], 1)} | {fmt(o['rps'] / target, 4)} | {fmt(lag.get('p50'), 3)} "
            f"| {fmt(lag.get('p99'), 3)} | {fmt(lag.get('max'), 3)} | {fmt(lat.get('p50'), 3)} "
            f"| {fmt(lat.get('p99'), 3)} | {o['dropped']} | {o['late']} | {o['errors']} "
            f"| {fmt(c.get('tool'))} | {fmt(c.get('other'))} | {fmt(c.get('steal'))} |"
        )
    w("")
    w("## Memory at max rate (closed model, "
      f"{facts['connections']} connections)")
    w("")
    w("| Run | requests | req/s | errors | peak RSS (time -v) | golive CPU % | other CPU % | steal % |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, secs, m, pk in (
        ("long", long_s, mem_long, peak_long),
        ("short", short_s, mem_short, peak_short),
    ):
        c = mem_cpu[name] or {}
        w(
            f"| {secs} s | {fmt(m['requests'])} | {fmt(m['rps'])} | {m['errors']} "
            f"| {fmt(pk / MB if pk else None, 1)} MB | {fmt(c.get('tool'))} | {fmt(c.get('other'))} "
            f"| {fmt(c.get('steal'))} |"
        )
    w("")
    w(f"VmRSS every 10 s during the {long_s} s run (MB): "
      + ", ".join(f"{t}s {b / MB:.1f}" for t, b in series))
    w("")
    w(f"Raw outputs: `{os.path.relpath(out)}`.")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(results + ".tmp", "w") as f:
        f.write(text)
    os.replace(results + ".tmp", results)


if __name__ == "__main__":
    main()
