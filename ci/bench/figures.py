#!/usr/bin/env python3
"""Turns the raw outputs of ci/bench/run.sh into one Markdown table of figures and goals.

Usage: figures.py OUT_DIR RESULTS_MD
       figures.py --noise OUT_DIR LABEL   (prints the other processes' CPU % during LABEL)

Reads, in OUT_DIR, LABEL.out (the tool's stdout), LABEL.time (/usr/bin/time -v) and
LABEL.snap0/.snap1 (CPU counters around the run) for the labels
closed-nC-R-{wrk,oha,h2load,golive} (nginx on core C, round R), open2k-R-{golive,oha},
open-R, stall-{golive,oha} (with LABEL.stall: launch, stop and continue times),
mem-long, mem-short, mem-many-{golive,wrk,oha}, mem-*.rss (VmRSS samples), the shard
run folders shard-I/ and shard-single/ with shards-merged.json and shards-merge.rc,
quiet.txt and facts.json. Sections that did not run are left out. Prints the Markdown
and writes it to RESULTS_MD. Exits 0 whatever the goals say (the table says it); exits 1
only when an output cannot be read.
"""

import glob
import json
import math
import os
import re
import statistics
import sys

MB = 1024 * 1024

# The goals, each in one place.
GOAL_VS_WRK = 1.0  # golive rps / wrk rps at least (closed model, each core assignment)
GOAL_VS_OHA = 1.2  # golive rps / oha rps at least
GOAL_CPU_PER_REQ_VS_WRK = 1.0  # golive CPU µs per request / wrk's at most
GOAL_P50_WITHIN = 0.10  # |golive p50 / wrk p50 - 1| at most
NGINX_SATURATED_PCT = 90.0  # nginx at or above this % of its core: the target is the limit
GOAL_OPEN_CPU_VS_OHA = 1.0  # golive CPU s / oha CPU s at the same open-model rate, at most
GOAL_OPEN_RPS_WITHIN = 0.01  # |achieved / target - 1| at most
GOAL_SEND_LAG_P99_MS = 1.0  # send_lag_ms.p99 below
GOAL_STALL_P99_WITHIN = 0.05  # |golive p99 / p99 expected from the schedule - 1| at most
GOAL_PEAK_MB = 64.0  # peak RSS below (50 users, the long run)
GOAL_GROWTH = 0.05  # last-minute VmRSS / first-minute VmRSS - 1 at most
GOAL_PEAK_SCALING = 0.10  # peak(long) / peak(short) - 1 at most
GOAL_MANY_PEAK_MB = 300.0  # peak RSS below at 10,000 users
GOAL_SHARD_ARRIVALS_WITHIN = 0.001  # |merged shards' arrivals / one run's - 1| at most


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


def h2load(path):
    text = open(path).read()
    rps = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", text)
    req = re.search(
        r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
        r"(\d+) errored, (\d+) timeout",
        text,
    )
    lat = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s", text)
    if not rps or not req:
        raise ValueError(f"{path}: not h2load output")
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    errors = int(req.group(5)) + int(req.group(6)) + int(req.group(7))
    if codes:
        errors += int(codes.group(3)) + int(codes.group(4))
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return {
        "rps": float(rps.group(1)),
        "p50_ms": None,  # h2load prints min, max, mean and sd only
        "mean_ms": float(lat.group(1)) * scale[lat.group(2)] if lat else None,
        "requests": int(req.group(3)),
        "errors": errors,
    }


def oha_p(path, q):
    """oha's latency percentile q (e.g. "p99") in ms."""
    v = json.load(open(path)).get("latencyPercentiles", {}).get(q)
    return float(v) * 1e3 if v is not None else None


PARSE = {"wrk": wrk, "oha": oha, "h2load": h2load, "golive": golive}


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


def ratio(a, b):
    return a / b if a is not None and b else None


def pct_str(x):
    return "n/a" if x is None else f"{x:+.1%}"


def load_evidence(path):
    """The load evidence (requests, dropped, rps...) of a results.json, or None."""
    try:
        j = json.load(open(path))
    except (OSError, ValueError):
        return None, None
    for phase in j.get("phases", []):
        for item in phase.get("items", []):
            ev = (item.get("evidence") or {}).get("load")
            if ev:
                return j, ev
    return j, None


def snap_rc(out, label):
    try:
        return int(open(os.path.join(out, label + ".snap1")).read().split()[-1])
    except (OSError, IndexError, ValueError):
        return None


def stall_expected(launch, stop, cont, rate, secs, base_ms):
    """The honest latencies of an open-model run whose target stops from `stop` to `cont`:
    arrival k is intended at k / rate after the start; one whose request is not answered
    before the stop begins waits until the target continues, so its latency runs from its
    intended time to the end of the stall (plus the usual service time); the others take
    the usual service time. Returns (p99 ms, arrivals in the stall)."""
    s0, s1, base = stop - launch, cont - launch, base_ms / 1e3
    n = int(round(rate * secs))
    lats, stalled = [], 0
    for k in range(n):
        t = k / rate
        if t < s1 and t + base > s0:
            lats.append(s1 - t + base)
            stalled += 1
        else:
            lats.append(base)
    lats.sort()
    return lats[max(0, math.ceil(0.99 * n) - 1)] * 1e3, stalled


def main():
    if sys.argv[1] == "--noise":
        c = cpu(sys.argv[2], sys.argv[3])
        print(round(c["other"]) if c else 0)
        return
    out, results = sys.argv[1], sys.argv[2]
    facts = json.load(open(os.path.join(out, "facts.json")))
    noise_max = facts.get("noise_max", 15)
    goals, body = [], []
    g, w = goals.append, body.append
    noisy_kept = []

    def kept_noisy(label, c):
        if c and round(c["other"]) > noise_max:
            noisy_kept.append(label)

    # ---- closed model, per core assignment ------------------------------------------------
    closed = {}  # nginx core -> tool -> [(round, figures)]
    for f in sorted(glob.glob(os.path.join(out, "closed-n*-*-*.out"))):
        m = re.fullmatch(r"closed-n(\d+)-(\d+)-(\w+)\.out", os.path.basename(f))
        if not m or m.group(3) not in PARSE:
            continue
        core, r, tool = int(m.group(1)), int(m.group(2)), m.group(3)
        label = f"closed-n{core}-{r}-{tool}"
        x = PARSE[tool](f)
        x["cpu"] = cpu(out, label)
        kept_noisy(label, x["cpu"])
        t = time_v(os.path.join(out, label + ".time"))["cpu_s"]
        x["us_per_req"] = t * 1e6 / x["requests"] if t and x.get("requests") else None
        closed.setdefault(core, {tt: [] for tt in PARSE})[tool].append((r, x))
    for core in sorted(closed):
        rounds = closed[core]
        load_core = 1 - core if facts.get("nproc") == "2" else "the other"
        rps = {t: med([x["rps"] for _, x in rs]) for t, rs in rounds.items()}
        p50 = {t: med([x["p50_ms"] for _, x in rs]) for t, rs in rounds.items()}
        upr = {t: med([x["us_per_req"] for _, x in rs]) for t, rs in rounds.items()}
        errs = {t: sum(x["errors"] or 0 for _, x in rs) for t, rs in rounds.items()}
        ng = {t: med([x["cpu"]["nginx"] for _, x in rs if x["cpu"]]) for t, rs in rounds.items()}
        ng_all = med([x["cpu"]["nginx"] for rs in rounds.values() for _, x in rs if x["cpu"]])
        sat = ng_all is not None and ng_all >= NGINX_SATURATED_PCT
        where = f"nginx on core {core}"
        satnote = (
            f"; **nginx saturated** (median {ng_all:.0f}% of its core): req/s ties, "
            "CPU per request carries the claim"
            if sat
            else ""
        )
        vs_wrk, vs_oha = ratio(rps["golive"], rps["wrk"]), ratio(rps["golive"], rps["oha"])
        cpu_vs_wrk = ratio(upr["golive"], upr["wrk"])
        cpu_vs_oha = ratio(upr["golive"], upr["oha"])

        def throughput(r, goal):
            # A saturated target caps every tool at its rate: the req/s ratio then says
            # nothing of the tool, and the CPU-per-request rows judge the same claim.
            if r is None:
                return "n/a"
            if sat and r < goal:
                return "target-bound (judged by CPU per request)"
            return verdict(r >= goal)
        p50_ratio = ratio(p50["golive"], p50["wrk"])
        g(
            f"| Throughput vs wrk, {where} | golive/wrk = {fmt(vs_wrk, 3)} "
            f"({fmt(rps['golive'])} / {fmt(rps['wrk'])} req/s{satnote}) | ≥ {GOAL_VS_WRK} "
            f"| {throughput(vs_wrk, GOAL_VS_WRK)} |"
        )
        g(
            f"| Throughput vs oha, {where} | golive/oha = {fmt(vs_oha, 3)} "
            f"({fmt(rps['golive'])} / {fmt(rps['oha'])} req/s{satnote}) | ≥ {GOAL_VS_OHA} "
            f"| {throughput(vs_oha, GOAL_VS_OHA)} |"
        )
        g(
            f"| Tool CPU per request vs wrk, {where} | golive/wrk = {fmt(cpu_vs_wrk, 3)} "
            f"({fmt(upr['golive'], 2)} / {fmt(upr['wrk'], 2)} µs of user+sys CPU per request) "
            f"| ≤ {GOAL_CPU_PER_REQ_VS_WRK} "
            f"| {verdict(None if cpu_vs_wrk is None else cpu_vs_wrk <= GOAL_CPU_PER_REQ_VS_WRK)} |"
        )
        # The oha goal as efficiency: 1.2x oha's requests per CPU-second.
        g(
            f"| Tool CPU per request vs oha, {where} | golive/oha = {fmt(cpu_vs_oha, 3)} "
            f"({fmt(upr['golive'], 2)} / {fmt(upr['oha'], 2)} µs; oha needs "
            f"{fmt(None if not cpu_vs_oha else 1 / cpu_vs_oha, 2)}× golive's CPU per request) "
            f"| ≤ {1 / GOAL_VS_OHA:.3f} (1 / {GOAL_VS_OHA}) "
            f"| {verdict(None if cpu_vs_oha is None else cpu_vs_oha <= 1 / GOAL_VS_OHA)} |"
        )
        g(
            f"| p50 latency vs wrk, {where} | golive/wrk = {fmt(p50_ratio, 3)} "
            f"({fmt(p50['golive'], 3)} / {fmt(p50['wrk'], 3)} ms) | within ±{GOAL_P50_WITHIN:.0%} "
            f"| {verdict(None if p50_ratio is None else abs(p50_ratio - 1) <= GOAL_P50_WITHIN)} |"
        )
        n = max(len(rs) for rs in rounds.values())
        w(f"## Closed model, nginx on core {core}, load tools on core {load_core}")
        w("")
        w(
            f"{n} interleaved rounds (the order rotates) of {facts['secs']} s per tool at "
            f"{facts['connections']} keep-alive connections; medians over rounds. "
            f"h2load runs `--h1 -t 1`."
        )
        w("")
        w("| Tool | req/s (median) | req/s per round | p50 ms (median) | errors "
          "| golive/tool (req/s) | tool CPU µs per request | golive/tool (CPU per request) "
          "| nginx CPU % (median) |")
        w("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for t in PARSE:
            if not rounds[t]:
                continue
            per = ", ".join(fmt(x["rps"]) for _, x in sorted(rounds[t], key=lambda y: y[0]))
            lat = fmt(p50[t], 3)
            if t == "h2load":
                lat = f"{fmt(med([x['mean_ms'] for _, x in rounds[t]]), 3)} (mean)"
            ngs = fmt(ng[t]) + (" saturated" if ng[t] is not None and ng[t] >= NGINX_SATURATED_PCT else "")
            w(
                f"| {t} | {fmt(rps[t])} | {per} | {lat} | {errs[t]} "
                f"| {fmt(ratio(rps['golive'], rps[t]), 3)} | {fmt(upr[t], 2)} "
                f"| {fmt(ratio(upr['golive'], upr[t]), 3)} | {ngs} |"
            )
        w("")
        w("| Round | Tool | req/s | CPU µs/request | tool CPU % | nginx CPU % | other CPU % "
          "| of which steal % |")
        w("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in sorted({r for rs in rounds.values() for r, _ in rs}):
            for t in PARSE:
                for rr, x in rounds[t]:
                    if rr == r:
                        c = x["cpu"] or {}
                        sat_r = c.get("nginx") is not None and c["nginx"] >= NGINX_SATURATED_PCT
                        w(
                            f"| {r} | {t} | {fmt(x['rps'])} | {fmt(x['us_per_req'], 2)} "
                            f"| {fmt(c.get('tool'))} "
                            f"| {fmt(c.get('nginx'))}{' (saturated)' if sat_r else ''} "
                            f"| {fmt(c.get('other'))} | {fmt(c.get('steal'))} |"
                        )
        w("")
    if closed:
        w(f"nginx at {NGINX_SATURATED_PCT:.0f}% of its core or more is marked saturated: the")
        w("target, not the load tool, then sets the req/s, every tool reaches about the same")
        w("figure, and the tool's CPU per completed request (user + sys from `time -v`, divided")
        w("by the requests it completed) is the figure that compares the tools.")
        w("")

    # ---- open-model CPU against oha --------------------------------------------------------
    o2 = {"golive": [], "oha": []}
    for f in glob.glob(os.path.join(out, "open2k-*-*.out")):
        m = re.fullmatch(r"open2k-(\d+)-(golive|oha)\.out", os.path.basename(f))
        if not m:
            continue
        label = f"open2k-{m.group(1)}-{m.group(2)}"
        x = (golive if m.group(2) == "golive" else oha)(f)
        x["cpu_s"] = time_v(os.path.join(out, label + ".time"))["cpu_s"]
        x["cpu"] = cpu(out, label)
        kept_noisy(label, x["cpu"])
        o2[m.group(2)].append((int(m.group(1)), x))
    if o2["golive"] or o2["oha"]:
        rate2 = float(facts["cpu_rate"])
        cg = med([x["cpu_s"] for _, x in o2["golive"]])
        co = med([x["cpu_s"] for _, x in o2["oha"]])
        r2 = ratio(cg, co)
        g(
            f"| Open-model CPU vs oha at {fmt(rate2)}/s | golive/oha = {fmt(r2, 3)} "
            f"({fmt(cg, 2)} / {fmt(co, 2)} CPU s, medians) | ≤ {GOAL_OPEN_CPU_VS_OHA} "
            f"| {verdict(None if r2 is None else r2 <= GOAL_OPEN_CPU_VS_OHA)} |"
        )
        w(f"## Open-model CPU: {fmt(rate2)}/s for {facts['cpu_secs']} s over "
          f"{facts['connections']} connections, golive against oha `--latency-correction`")
        w("")
        w("| Run | Tool | achieved req/s | CPU s (user+sys) | tool CPU % | other CPU % | errors |")
        w("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
        for t in ("golive", "oha"):
            for r, x in sorted(o2[t], key=lambda y: y[0]):
                c = x["cpu"] or {}
                w(f"| {r} | {t} | {fmt(x['rps'], 1)} | {fmt(x['cpu_s'], 2)} | {fmt(c.get('tool'))} "
                  f"| {fmt(c.get('other'))} | {x['errors']} |")
        w("")

    # ---- open model at the high rate -------------------------------------------------------
    open_files = sorted(
        (f for f in glob.glob(os.path.join(out, "open-*.out"))
         if re.fullmatch(r"open-\d+\.out", os.path.basename(f))),
        key=lambda f: int(re.search(r"open-(\d+)", f).group(1)),
    )
    if open_files:
        opens = [golive(f)["raw"] for f in open_files]
        open_cpu = [cpu(out, os.path.basename(f)[:-4]) for f in open_files]
        for i, c in enumerate(open_cpu, 1):
            kept_noisy(f"open-{i}", c)
        target = float(facts["open_rate"])
        open_rps = [o["rps"] for o in opens]
        open_lag = [(o.get("send_lag_ms") or {}).get("p99") for o in opens]
        open_rps_ok = [abs(x / target - 1) <= GOAL_OPEN_RPS_WITHIN for x in open_rps]
        open_lag_ok = [x is not None and x < GOAL_SEND_LAG_P99_MS for x in open_lag]
        g(
            f"| Open model rate at {fmt(target)}/s | achieved/target = "
            f"{fmt(ratio(med(open_rps), target), 4)} (median {fmt(med(open_rps), 1)} req/s; "
            f"{sum(open_rps_ok)}/{len(opens)} runs within) | within ±{GOAL_OPEN_RPS_WITHIN:.0%} "
            f"| {verdict(abs(med(open_rps) / target - 1) <= GOAL_OPEN_RPS_WITHIN)} |"
        )
        g(
            f"| Open model send lag at {fmt(target)}/s | send_lag p99 = {fmt(med(open_lag), 3)} ms "
            f"(median; {sum(open_lag_ok)}/{len(opens)} runs below) | < {GOAL_SEND_LAG_P99_MS} ms "
            f"| {verdict(med(open_lag) is not None and med(open_lag) < GOAL_SEND_LAG_P99_MS)} |"
        )
        w(f"## Open model: {fmt(target)}/s for {facts['open_secs']} s over "
          f"{facts['connections']} connections")
        w("")
        w("| Run | req/s | achieved/target | send_lag p50 ms | send_lag p99 ms | send_lag max ms "
          "| latency p50 ms | latency p99 ms | dropped | late | errors | golive CPU % "
          "| other CPU % | steal % |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
          "| ---: | ---: |")
        for i, (o, c) in enumerate(zip(opens, open_cpu), 1):
            lag = o.get("send_lag_ms") or {}
            lat = o.get("latency_ms") or {}
            c = c or {}
            w(
                f"| {i} | {fmt(o['rps'], 1)} | {fmt(o['rps'] / target, 4)} "
                f"| {fmt(lag.get('p50'), 3)} | {fmt(lag.get('p99'), 3)} | {fmt(lag.get('max'), 3)} "
                f"| {fmt(lat.get('p50'), 3)} | {fmt(lat.get('p99'), 3)} | {o['dropped']} "
                f"| {o['late']} | {o['errors']} | {fmt(c.get('tool'))} | {fmt(c.get('other'))} "
                f"| {fmt(c.get('steal'))} |"
            )
        w("")

    # ---- stall (coordinated omission) ------------------------------------------------------
    stall_rows = []
    for t in ("golive", "oha"):
        label = f"stall-{t}"
        sp = os.path.join(out, label + ".stall")
        if not os.path.exists(sp) or not os.path.exists(os.path.join(out, label + ".out")):
            continue
        launch, stop, cont, rate = (float(v) for v in open(sp).read().split())
        path = os.path.join(out, label + ".out")
        try:
            if t == "golive":
                j = json.load(open(path))
                p99 = (j.get("latency_ms") or {}).get("p99")
                p50 = (j.get("latency_ms") or {}).get("p50")
                svc99 = (j.get("service_time_ms") or {}).get("p99")
                n, late, errors = j["requests"], j.get("late"), j["errors"]
            else:
                x = oha(path)
                p99, p50, svc99 = oha_p(path, "p99"), oha_p(path, "p50"), None
                n, late, errors = x["requests"], None, x["errors"]
        except (OSError, ValueError, KeyError):
            p99 = p50 = svc99 = n = late = errors = None
        exp99, in_stall = stall_expected(
            launch, stop, cont, rate, float(facts["stall_secs"]), p50 or 0.0
        )
        stall_rows.append((t, cont - stop, exp99, in_stall, p99, p50, svc99, n, late, errors,
                           snap_rc(out, label)))
    if stall_rows:
        for t, length, exp99, _, p99, *_ in stall_rows:
            r = ratio(p99, exp99)
            if t == "golive":
                g(
                    f"| Stall: latency p99 from the intended time | golive/expected = {fmt(r, 3)} "
                    f"({fmt(p99, 1)} / {fmt(exp99, 1)} ms for a {length * 1e3:,.0f} ms stall) "
                    f"| within ±{GOAL_STALL_P99_WITHIN:.0%} "
                    f"| {verdict(None if r is None else abs(r - 1) <= GOAL_STALL_P99_WITHIN)} |"
                )
        w(f"## Stall: {fmt(float(facts['stall_rate']))}/s for {facts['stall_secs']} s, nginx's "
          f"worker stopped (SIGSTOP) {facts['stall_at']} s after the launch for "
          f"{facts['stall_len']} s")
        w("")
        w("The expected p99 follows from the arrival schedule alone: arrival k is intended at")
        w("k ÷ rate; every arrival intended within the stall (or still unanswered when it began)")
        w("waits until the stall ends, so its honest latency is (end of stall − intended time) +")
        w("the usual latency (the tool's own p50); the others take the usual latency. A tool that")
        w("times from the actual send (coordinated omission) shows a p99 near the usual latency.")
        w("")
        w("| Tool | stall ms (measured) | arrivals in the stall | expected p99 ms | reported p99 ms "
          "| reported/expected | p50 ms | service-time p99 ms | requests | late | errors | exit |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for t, length, exp99, in_stall, p99, p50, svc99, n, late, errors, rc in stall_rows:
            w(
                f"| {t}{' `--latency-correction` (peer)' if t == 'oha' else ''} "
                f"| {length * 1e3:,.0f} | {in_stall} | {fmt(exp99, 1)} | {fmt(p99, 1)} "
                f"| {fmt(ratio(p99, exp99), 3)} | {fmt(p50, 3)} | {fmt(svc99, 1)} | {fmt(n)} "
                f"| {'n/a' if late is None else late} | {'n/a' if errors is None else errors} "
                f"| {'n/a' if rc is None else rc} |"
            )
        w("")

    # ---- memory ----------------------------------------------------------------------------
    if os.path.exists(os.path.join(out, "mem-long.time")):
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
        g(
            f"| Peak RSS, {facts['connections']} users for {long_s} s "
            f"| {fmt(peak_long / MB if peak_long else None, 1)} MB | < {GOAL_PEAK_MB:.0f} MB "
            f"| {verdict(None if peak_long is None else peak_long / MB < GOAL_PEAK_MB)} |"
        )
        g(
            f"| No growth within the run | VmRSS last minute / first minute = "
            f"{fmt(last_mb, 1)} / {fmt(first_mb, 1)} MB ({pct_str(growth)}) "
            f"| ≤ +{GOAL_GROWTH:.0%} | {verdict(None if growth is None else growth <= GOAL_GROWTH)} |"
        )
        g(
            f"| Peak does not scale with duration | peak {long_s} s / peak {short_s} s = "
            f"{fmt(peak_long / MB if peak_long else None, 1)} / "
            f"{fmt(peak_short / MB if peak_short else None, 1)} MB ({pct_str(scaling)}) "
            f"| ≤ +{GOAL_PEAK_SCALING:.0%} "
            f"| {verdict(None if scaling is None else scaling <= GOAL_PEAK_SCALING)} |"
        )
        w(f"## Memory at max rate (closed model, {facts['connections']} users)")
        w("")
        w("| Run | requests | req/s | errors | peak RSS (time -v) | golive CPU % | other CPU % "
          "| steal % |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, secs, m, pk in (
            ("long", long_s, mem_long, peak_long),
            ("short", short_s, mem_short, peak_short),
        ):
            c = mem_cpu[name] or {}
            w(
                f"| {secs} s | {fmt(m['requests'])} | {fmt(m['rps'])} | {m['errors']} "
                f"| {fmt(pk / MB if pk else None, 1)} MB | {fmt(c.get('tool'))} "
                f"| {fmt(c.get('other'))} | {fmt(c.get('steal'))} |"
            )
        w("")
        w(f"VmRSS every 10 s during the {long_s} s run (MB): "
          + ", ".join(f"{t}s {b / MB:.1f}" for t, b in series))
        w("")
    many = []
    for t in ("golive", "wrk", "oha"):
        label = f"mem-many-{t}"
        if not os.path.exists(os.path.join(out, label + ".time")):
            continue
        tv = time_v(os.path.join(out, label + ".time"))
        try:
            x = PARSE[t](os.path.join(out, label + ".out"))
        except (OSError, ValueError, KeyError):
            x = {"requests": None, "rps": None, "errors": None}
        many.append((t, tv, x, snap_rc(out, label)))
    if many:
        users = facts["mem_users"]
        for t, tv, _, _ in many:
            if t == "golive":
                pk = tv["peak_rss"]
                g(
                    f"| Peak RSS, {fmt(users)} users for {facts['mem_many_secs']} s "
                    f"| {fmt(pk / MB if pk else None, 1)} MB | < {GOAL_MANY_PEAK_MB:.0f} MB "
                    f"| {verdict(None if pk is None else pk / MB < GOAL_MANY_PEAK_MB)} |"
                )
        w(f"## Memory at {fmt(users)} connections (closed model, {facts['mem_many_secs']} s; "
          f"open files limit {facts.get('nofile')})")
        w("")
        w("| Tool | peak RSS (time -v) | requests | req/s | errors | CPU s | exit |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for t, tv, x, rc in many:
            pk = tv["peak_rss"]
            w(f"| {t}{'' if t == 'golive' else ' (peer)'} | {fmt(pk / MB if pk else None, 1)} MB "
              f"| {fmt(x.get('requests'))} | {fmt(x.get('rps'))} "
              f"| {'n/a' if x.get('errors') is None else x['errors']} | {fmt(tv['cpu_s'], 2)} "
              f"| {'n/a' if rc is None else rc} |")
        w("")

    # ---- shards ----------------------------------------------------------------------------
    shard_dirs = sorted(glob.glob(os.path.join(out, "shard-[0-9]*")), key=lambda d: int(
        re.search(r"shard-(\d+)", d).group(1)) if os.path.isdir(d) else -1)
    shard_dirs = [d for d in shard_dirs if os.path.isdir(d)]
    if shard_dirs:
        arrivals = lambda ev: None if ev is None else ev["requests"] + ev.get("dropped", 0)  # noqa: E731
        merged, mev = load_evidence(os.path.join(out, "shards-merged.json"))
        single, sev = load_evidence(os.path.join(out, "shard-single", "results.json"))
        try:
            merge_rc = int(open(os.path.join(out, "shards-merge.rc")).read().split()[0])
        except (OSError, ValueError, IndexError):
            merge_rc = None
        am, asg = arrivals(mev), arrivals(sev)
        ra = ratio(am, asg)
        planned = float(facts["shard_rate"]) * float(facts["shard_secs"])
        mv = (merged or {}).get("verdict")
        sv = (single or {}).get("verdict")
        g(
            f"| {facts['shards']} shards merged vs one run, arrivals | merged/one = {fmt(ra, 4)} "
            f"({fmt(am)} / {fmt(asg)}; planned {fmt(planned)}) "
            f"| within ±{GOAL_SHARD_ARRIVALS_WITHIN:.1%} "
            f"| {verdict(None if ra is None else abs(ra - 1) <= GOAL_SHARD_ARRIVALS_WITHIN)} |"
        )
        g(
            f"| {facts['shards']} shards give one verdict | merge: {mv or 'none'} (exit "
            f"{'n/a' if merge_rc is None else merge_rc}); one run: {sv or 'none'} "
            f"| one verdict, the one run's "
            f"| {verdict(mv is not None and mv == sv)} |"
        )
        w(f"## Shards: {facts['shards']} local processes at {fmt(float(facts['shard_rate']))}/s "
          f"together for {facts['shard_secs']} s, merged, against one unsharded run")
        w("")
        w("All shard processes run on the load core, from one absolute `--start-at`; `golive "
          "merge` adds their histograms and judges once.")
        w("")
        w("| Run | arrivals (requests + dropped) | requests | dropped | late | achieved req/s "
          "| latency p99 ms | errors | verdict |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        rows = [(f"shard {i}", *load_evidence(os.path.join(d, "results.json")))
                for i, d in enumerate(shard_dirs)]
        rows += [("merged", merged, mev), ("one run", single, sev)]
        for name, j, ev in rows:
            if ev is None:
                w(f"| {name} | n/a | | | | | | | {(j or {}).get('verdict', 'n/a')} |")
                continue
            lat = (ev.get("overall") or {}).get("latency_ms") or {}
            w(f"| {name} | {fmt(arrivals(ev))} | {fmt(ev['requests'])} | {fmt(ev.get('dropped'))} "
              f"| {fmt(ev.get('late'))} | {fmt(ev.get('achieved_rps'), 1)} | {fmt(lat.get('p99'), 3)} "
              f"| {fmt(ev.get('errors'))} | {(j or {}).get('verdict', 'n/a')} |")
        w("")

    # ---- header ----------------------------------------------------------------------------
    quiet = []
    qpath = os.path.join(out, "quiet.txt")
    if os.path.exists(qpath):
        for line in open(qpath):
            parts = line.split()
            if len(parts) == 3:
                quiet.append((parts[0], int(parts[1]), int(parts[2])))
    busy_runs = [q for q in quiet if q[1] > facts.get("quiet_busy", 10)]
    redone = sorted({re.sub(r"\.noisy\d+\..*$", "", os.path.basename(f))
                     for f in glob.glob(os.path.join(out, "*.noisy*.out"))})
    lines = []
    h = lines.append
    h("# golive load benchmark")
    h("")
    h(f"- Date: {facts['date']}; golive commit {facts['golive']}")
    h(f"- Machine: {facts['nproc']} cores, {facts['cpu']}, Linux {facts['kernel']}")
    h(f"- Peers: {facts['wrk']}; {facts['oha']}; {facts.get('h2load', 'h2load n/a')}; "
      f"{facts['nginx']}")
    h(
        f"- Target: nginx, 1 worker, 2-byte static file, access log off, on core "
        f"{facts['target_core']} with the load tools on core {facts['load_core']} (the closed "
        f"model also runs with the two swapped); each tool run bounded by `timeout`."
    )
    h(f"- Sections run: {facts.get('sections', 'all')}.")
    if busy_runs:
        h(
            f"- **{len(busy_runs)} of {len(quiet)} runs started on a busy machine** "
            f"(other processes over {facts.get('quiet_busy', 10)}% of all cores after waiting "
            f"{facts.get('quiet_wait')} s): "
            + ", ".join(f"{q[0]} ({q[1]}%)" for q in busy_runs)
            + ". Their figures are suspect."
        )
    if redone:
        h(
            f"- Run again because other processes used over {noise_max}% of a core "
            f"during them: {', '.join(redone)} (the noisy outputs are kept as *.noisyN.*)."
        )
    if noisy_kept:
        h(f"- **Kept although other processes used over {noise_max}% of a core "
          f"during them (figures suspect): {', '.join(sorted(noisy_kept))}.**")
    if quiet and not busy_runs:
        h(f"- All {len(quiet)} runs started on an idle machine (≤ {facts.get('quiet_busy', 10)}% busy).")
    if facts.get("quick"):
        h("- **BENCH_QUICK=1: shortened run, not the figures of record.**")
    h("")
    h("## Goals")
    h("")
    h("| Goal | Figure | Bound | Result |")
    h("| --- | --- | --- | --- |")
    lines += goals
    h("")
    lines += body
    h(f"Raw outputs: `{os.path.relpath(out)}`.")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(results + ".tmp", "w") as f:
        f.write(text)
    os.replace(results + ".tmp", results)


if __name__ == "__main__":
    main()
