#!/usr/bin/env bash
# Benchmarks `golive monitor` against the tool on-call teams use for the same job:
# Prometheus blackbox_exporter probed by Prometheus. Both watch the same N URLs of one
# `golive sandbox` every second, at the same time, for the same duration, on this
# machine; CPU and RSS of every process are read from /proc every 10 s. The figures of
# record are the golive/peer ratios.
#
#   bash ci/bench/monitor.sh                          # 600 s; writes ci/bench/MONITOR.md
#   BENCH_MONITOR_SECS=120 bash ci/bench/monitor.sh   # a short smoke run
#
# Knobs (environment variables, defaults in brackets):
#   BENCH_MONITOR_SECS     measured duration in seconds [600]
#   BENCH_MONITOR_ITEMS    check items / probed URLs [100]
#   GOLIVE_BIN             the golive binary [$repo/target/release/golive]
#   BENCH_MONITOR_RESULTS  where the Markdown table goes [ci/bench/MONITOR.md]
#   BENCH_MONITOR_OUT      if set, a directory the raw data is copied to [unset]
#
# Needs prometheus and prometheus-blackbox-exporter (installed with apt when missing,
# as root, with services kept from starting), python3 and curl. Traffic goes only to
# 127.0.0.1; every process this script starts is stopped by PID; its temp dir is removed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

SECS="${BENCH_MONITOR_SECS:-600}"
ITEMS="${BENCH_MONITOR_ITEMS:-100}"
GOLIVE="${GOLIVE_BIN:-$repo/target/release/golive}"
RESULTS="${BENCH_MONITOR_RESULTS:-$here/MONITOR.md}"
KEEP="${BENCH_MONITOR_OUT:-}"
STEP=10 # seconds between two /proc readings

log() { printf '[monitor-bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 3; }

case "$SECS" in '' | *[!0-9]*) die "BENCH_MONITOR_SECS must be a whole number of seconds" ;; esac
case "$ITEMS" in '' | *[!0-9]*) die "BENCH_MONITOR_ITEMS must be a whole number" ;; esac
[ "$SECS" -ge 60 ] || die "BENCH_MONITOR_SECS must be at least 60"
if [ "$ITEMS" -lt 1 ] || [ "$ITEMS" -gt 999 ]; then die "BENCH_MONITOR_ITEMS must be 1..999"; fi
[ -x "$GOLIVE" ] || die "no golive binary at $GOLIVE (cargo build --release, or set GOLIVE_BIN)"
command -v python3 >/dev/null || die "python3 is needed"
command -v curl >/dev/null || die "curl is needed"
# What is measured, read before the run (the binary or HEAD may change while it runs).
golive_version="$("$GOLIVE" --version 2>/dev/null | head -n 1 | sed 's/^golive //' || echo unknown)"
commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"

# ---- the peer ---------------------------------------------------------------------------
need_apt=()
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v prometheus-blackbox-exporter >/dev/null || command -v blackbox_exporter >/dev/null \
  || need_apt+=(prometheus-blackbox-exporter)
if [ "${#need_apt[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need_apt[*]}; run as root to install them with apt"
  log "installing ${need_apt[*]} (services kept from starting)"
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  rc=0
  { apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"; } || rc=$?
  [ "$made_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install ${need_apt[*]} failed"
fi
PROMETHEUS="$(command -v prometheus)"
BLACKBOX="$(command -v prometheus-blackbox-exporter || command -v blackbox_exporter)"

# ---- processes, temp dir, cleanup ---------------------------------------------------------
tmp="$(mktemp -d -t golive-monitor-bench.XXXXXX)"
pids=()
cleanup() {
  local pid i
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for i in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      [ "$i" -lt 50 ] || kill -KILL "$pid" 2>/dev/null || true
      sleep 0.1
    done
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_http NAME URL PID: polls URL until it answers 2xx; fails if PID exits or 30 s pass.
wait_http() {
  local i
  for i in $(seq 300); do
    if curl -fsS -o /dev/null --max-time 1 "$2" 2>/dev/null; then return 0; fi
    kill -0 "$3" 2>/dev/null || die "$1 exited while starting (see below)$(tail -n 20 "$tmp/$1.err" | sed 's/^/\n  /')"
    [ "$i" -lt 300 ] || die "$1 did not answer $2 in 30 s"
    sleep 0.1
  done
}
# cpu_ticks PID: utime + stime (fields 14 and 15 of /proc/PID/stat; the name may hold spaces).
cpu_ticks() {
  local stat f
  stat="$(<"/proc/$1/stat")"
  read -r -a f <<<"${stat##*) }"
  echo $((f[11] + f[12]))
}
# proc_kb PID FIELD: VmRSS or VmHWM in kB.
proc_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
now_ns() { date +%s%N; }
prom_query() { # prom_query EXPR [TIME]: the first value of an instant query, or "nan".
  local args=(--data-urlencode "query=$1")
  [ -z "${2:-}" ] || args+=(--data-urlencode "time=$2")
  curl -fsS --max-time 10 "http://127.0.0.1:$prom_port/api/v1/query" "${args[@]}" \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "0")' \
    2>/dev/null || echo nan
}
golive_metric_sum() { # golive_metric_sum NAME: sum over the series of one metric on /metrics.
  curl -fsS --max-time 5 "http://$golive_addr/metrics" \
    | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }'
}
golive_states() { # counts of item states on /api/status, e.g. "up=100"
  curl -fsS --max-time 5 "http://$golive_addr/api/status" | python3 -c '
import collections, json, sys
s = json.load(sys.stdin)["status"]
c = collections.Counter(i["state"] for i in s["items"])
print(" ".join(f"{k}={v}" for k, v in sorted(c.items())))' 2>/dev/null || echo "unreachable"
}

# ---- the system under test -----------------------------------------------------------------
log "starting golive sandbox"
"$GOLIVE" sandbox --listen 127.0.0.1:0 >"$tmp/sandbox.out" 2>"$tmp/sandbox.err" &
pids+=("$!")
sandbox_pid=$!
sandbox=""
for _ in $(seq 300); do
  sandbox="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$tmp/sandbox.out" | tail -n 1 || true)"
  [ -z "$sandbox" ] || break
  kill -0 "$sandbox_pid" 2>/dev/null || die "the sandbox exited: $(cat "$tmp/sandbox.err")"
  sleep 0.1
done
[ -n "$sandbox" ] || die "the sandbox printed no URL in 30 s"
wait_http sandbox "$sandbox/health" "$sandbox_pid"

# The N URLs, cycling through three endpoints of the sandbox.
paths=(/health /api/portfolio /api/quotes/AAPL)
urls=()
for i in $(seq "$ITEMS"); do
  urls+=("$sandbox${paths[$(((i - 1) % 3))]}")
done

# ---- golive monitor -----------------------------------------------------------------------------
checklist="$tmp/monitor-bench.yaml"
{
  printf 'system: Monitor benchmark\nphases:\n  - id: live\n    title: Live\n    items:\n'
  for i in $(seq "$ITEMS"); do
    n="$(printf '%03d' "$i")"
    printf '      - id: item-%s\n        title: item %s\n' "$n" "$i"
    printf '        check: { kind: http, url: "%s", expect: [status == 200], timeout: 1s }\n' "${urls[$((i - 1))]}"
  done
  printf 'monitor:\n  every: 1s\n  samples: 1\n  rules:\n'
  for i in $(seq "$ITEMS"); do
    n="$(printf '%03d' "$i")"
    printf '    - { name: errors-%s, item: item-%s, when: "error_rate > 5%%", window: 10s, for: 30s, min_samples: 5 }\n' "$n" "$n"
  done
  printf '  objectives:\n'
  for i in $(seq "$ITEMS"); do
    n="$(printf '%03d' "$i")"
    printf '    - { name: avail-%s, item: item-%s, objective: "availability > 99.5%% over 1d" }\n' "$n" "$n"
  done
} >"$checklist"
"$GOLIVE" validate "$checklist" >"$tmp/validate.out" 2>&1 \
  || die "golive validate rejects the generated checklist: $(cat "$tmp/validate.out")"

golive_addr="127.0.0.1:$(free_port)"
state="$tmp/monitor.db"
log "starting golive monitor ($ITEMS items) on $golive_addr"
"$GOLIVE" monitor "$checklist" --state "$state" --listen "$golive_addr" \
  >"$tmp/golive.out" 2>"$tmp/golive.err" &
pids+=("$!")
golive_pid=$!
wait_http golive "http://$golive_addr/healthz" "$golive_pid"

# ---- the peer: blackbox_exporter + Prometheus ---------------------------------------------------
bb_port="$(free_port)"
cat >"$tmp/blackbox.yml" <<'EOF'
modules:
  http_2xx:
    prober: http
    timeout: 1s
    http:
      preferred_ip_protocol: ip4
EOF
log "starting blackbox_exporter on 127.0.0.1:$bb_port"
"$BLACKBOX" --config.file="$tmp/blackbox.yml" --web.listen-address="127.0.0.1:$bb_port" \
  >"$tmp/blackbox.out" 2>"$tmp/blackbox.err" &
pids+=("$!")
bb_pid=$!
wait_http blackbox "http://127.0.0.1:$bb_port/-/healthy" "$bb_pid"

prom_port="$(free_port)"
# The same alert as golive's rules (error rate over 10 s windows above 5% for 30 s), one
# expression over every target, evaluated every 10 s: the peer does the same job.
cat >"$tmp/rules.yml" <<'EOF'
groups:
  - name: bench
    interval: 10s
    rules:
      - alert: ProbeErrors
        expr: (1 - avg_over_time(probe_success{job="blackbox"}[10s])) > 0.05
        for: 30s
EOF
{
  printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 10s\n'
  printf 'rule_files: [%s/rules.yml]\n' "$tmp"
  printf 'scrape_configs:\n  - job_name: blackbox\n    metrics_path: /probe\n'
  printf '    params: { module: [http_2xx] }\n    static_configs:\n'
  # One group per URL with its item label: identical URLs stay distinct targets.
  for i in $(seq "$ITEMS"); do
    printf '      - { targets: ["%s"], labels: { item: item-%03d } }\n' "${urls[$((i - 1))]}" "$i"
  done
  printf '    relabel_configs:\n'
  printf '      - { source_labels: [__address__], target_label: __param_target }\n'
  printf '      - { source_labels: [__param_target], target_label: instance }\n'
  printf '      - { target_label: __address__, replacement: "127.0.0.1:%s" }\n' "$bb_port"
} >"$tmp/prometheus.yml"
mkdir -p "$tmp/tsdb"
log "starting prometheus on 127.0.0.1:$prom_port"
"$PROMETHEUS" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.out" 2>"$tmp/prometheus.err" &
pids+=("$!")
prom_pid=$!
wait_http prometheus "http://127.0.0.1:$prom_port/-/ready" "$prom_pid"

# ---- the measured run -------------------------------------------------------------------------
# Both watchers run at once against the one sandbox: half the wall time, and the same
# machine load for both. Give each 5 s to settle, then measure for SECS seconds.
sleep 5
clk="$(getconf CLK_TCK)"
names=(golive blackbox prometheus sandbox)
procs=("$golive_pid" "$bb_pid" "$prom_pid" "$sandbox_pid")
csv="$tmp/proc.csv"
states="$tmp/states.txt"
echo "t,name,ticks,rss_kb,hwm_kb" >"$csv"
: >"$states"
# Samples in the measured window: golive's counters read at t0 and at t_end.
g_samples0="$(golive_metric_sum golive_monitor_samples_total)"
g_fail0="$(golive_metric_sum golive_monitor_sample_failures_total)"
t0="$(now_ns)"
t0_s=$((t0 / 1000000000))
load0="$(cut -d' ' -f1-3 /proc/loadavg)"
log "measuring for ${SECS} s: golive monitor and blackbox_exporter+prometheus at the same time," \
  "$ITEMS URLs each, every 1 s, against one sandbox (done at $(date -u -d "@$((t0_s + SECS))" +%H:%M:%S) UTC)"
k=0
while :; do
  t="$(now_ns)"
  el="$(((t - t0) / 1000000))" # ms since t0
  for j in "${!names[@]}"; do
    pid="${procs[$j]}"
    kill -0 "$pid" 2>/dev/null || die "${names[$j]} (pid $pid) exited during the run: $(tail -n 20 "$tmp/${names[$j]}.err")"
    echo "$el,${names[$j]},$(cpu_ticks "$pid"),$(proc_kb "$pid" VmRSS),$(proc_kb "$pid" VmHWM)" >>"$csv"
  done
  if [ $((k * STEP % 60)) = 0 ] || [ $((k * STEP)) -ge "$SECS" ]; then
    line="t=$((k * STEP))s golive: $(golive_states) | peer: up=$(prom_query 'sum(up{job="blackbox"})') probe_success=$(prom_query 'sum(probe_success)')"
    echo "$line" >>"$states"
    log "$line"
  fi
  [ $((k * STEP)) -lt "$SECS" ] || break
  k=$((k + 1))
  wait_ns=$((t0 + k * STEP * 1000000000 - $(now_ns)))
  [ "$wait_ns" -le 0 ] || sleep "$(awk -v n="$wait_ns" 'BEGIN { printf "%.3f", n / 1e9 }')"
done
g_samples1="$(golive_metric_sum golive_monitor_samples_total)"
g_fail1="$(golive_metric_sum golive_monitor_sample_failures_total)"
t_end="$(now_ns)"
load1="$(cut -d' ' -f1-3 /proc/loadavg)"

# The peer's probes in the same window: [t0, t_end] evaluated at t_end.
win="$(((t_end - t0) / 1000000))ms"
at="$(awk -v n="$t_end" 'BEGIN { printf "%.3f", n / 1e9 }')"
p_probes="$(prom_query "sum(count_over_time(probe_success[$win]))" "$at")"
p_ok="$(prom_query "sum(sum_over_time(probe_success[$win]))" "$at")"
p_scrapes="$(prom_query "sum(count_over_time(up{job=\"blackbox\"}[$win]))" "$at")"
p_scrapes_ok="$(prom_query "sum(sum_over_time(up{job=\"blackbox\"}[$win]))" "$at")"
p_alerts="$(prom_query 'count(ALERTS{alertstate="firing"})')"
g_final_states="$(golive_states)"
g_firing="$(golive_metric_sum golive_monitor_alert_firing)"
size_of() { if [ -e "$1" ]; then stat -c %s "$1"; else echo 0; fi; }
db_bytes="$(size_of "$state")"
wal_bytes="$(size_of "$state-wal")"
tsdb_kb="$(du -sk "$tmp/tsdb" | cut -f1)"

# A requested stop: golive should exit 0 promptly.
stop_t0="$(now_ns)"
kill -TERM "$golive_pid"
g_exit=0
wait "$golive_pid" || g_exit=$?
stop_ms=$((($(now_ns) - stop_t0) / 1000000))
db_bytes_stopped="$(size_of "$state")"
wal_bytes_stopped="$(size_of "$state-wal")"

g_err_lines="$(wc -l <"$tmp/golive.err")"
g_warn_lines="$(grep -ciE 'warn|error|panic' "$tmp/golive.err" || true)"
p_err_lines="$(grep -ciE 'level=(error|warn)' "$tmp/prometheus.err" || true)"
b_err_lines="$(grep -ciE 'level=(error|warn)' "$tmp/blackbox.err" || true)"

# ---- figures ------------------------------------------------------------------------------------
prom_version="$("$PROMETHEUS" --version 2>&1 | head -n 1 | awk '{ print $3 }')"
bb_version="$("$BLACKBOX" --version 2>&1 | head -n 1 | awk '{ print $3 }')"
cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
cmd="BENCH_MONITOR_SECS=$SECS BENCH_MONITOR_ITEMS=$ITEMS bash ci/bench/monitor.sh"
cores="$(nproc)"
kernel="$(uname -r)"
when="$(date -u -d "@$t0_s" '+%Y-%m-%d %H:%M UTC')"

export CSV="$csv" CLK="$clk" SECS ITEMS STATES="$states" \
  G_SAMPLES0="$g_samples0" G_SAMPLES1="$g_samples1" G_FAIL0="$g_fail0" G_FAIL1="$g_fail1" \
  P_PROBES="$p_probes" P_OK="$p_ok" P_SCRAPES="$p_scrapes" P_SCRAPES_OK="$p_scrapes_ok" \
  P_ALERTS="$p_alerts" G_FIRING="$g_firing" G_FINAL_STATES="$g_final_states" \
  DB_BYTES="$db_bytes" WAL_BYTES="$wal_bytes" DB_BYTES_STOPPED="$db_bytes_stopped" \
  WAL_BYTES_STOPPED="$wal_bytes_stopped" TSDB_KB="$tsdb_kb" G_EXIT="$g_exit" STOP_MS="$stop_ms" \
  G_ERR_LINES="$g_err_lines" G_WARN_LINES="$g_warn_lines" G_ERR_FILE="$tmp/golive.err" P_ERR_LINES="$p_err_lines" \
  B_ERR_LINES="$b_err_lines" GOLIVE_VERSION="$golive_version" COMMIT="$commit" \
  PROM_VERSION="$prom_version" BB_VERSION="$bb_version" CPU_MODEL="$cpu_model" \
  CORES="$cores" KERNEL="$kernel" WHEN="$when" CMD="$cmd" LOAD0="$load0" LOAD1="$load1"
python3 - >"$tmp/MONITOR.md" <<'PY'
import csv, os

e = os.environ
clk = float(e["CLK"])
rows = {}
for r in csv.DictReader(open(e["CSV"])):
    rows.setdefault(r["name"], []).append(
        (int(r["t"]) / 1000, int(r["ticks"]), int(r["rss_kb"]), int(r["hwm_kb"])))
rows["peer"] = [
    (b[0], b[1] + p[1], b[2] + p[2], b[3] + p[3])
    for b, p in zip(rows["blackbox"], rows["prometheus"])]

def fig(name):
    s = rows[name]
    t0, t1 = s[0][0], s[-1][0]
    cpu_s = (s[-1][1] - s[0][1]) / clk
    at2 = min(s, key=lambda x: abs(x[0] - 120))
    end = s[-1]
    mins = (end[0] - at2[0]) / 60
    growth = (end[2] - at2[2]) / 1024
    return {
        "cpu_s": cpu_s,
        "cpu_pct": 100 * cpu_s / (t1 - t0),
        "peak": max(x[2] for x in s) / 1024,
        "hwm": s[-1][3] / 1024,
        "min2": at2[2] / 1024,
        "end": end[2] / 1024,
        "growth": growth,
        "growth_pm": growth / mins if mins > 0.5 else float("nan"),
    }

f = {n: fig(n) for n in ("golive", "blackbox", "prometheus", "peer", "sandbox")}

def num(v):
    try:
        return float(v)
    except ValueError:
        return float("nan")

g_samples = num(e["G_SAMPLES1"]) - num(e["G_SAMPLES0"])
g_fail = num(e["G_FAIL1"]) - num(e["G_FAIL0"])
p_probes, p_ok = num(e["P_PROBES"]), num(e["P_OK"])
p_scrapes, p_scrapes_ok = num(e["P_SCRAPES"]), num(e["P_SCRAPES_OK"])
dur = rows["golive"][-1][0] - rows["golive"][0][0]
expected = int(e["ITEMS"]) * int(e["SECS"])
f["golive"]["samples"] = g_samples
f["peer"]["samples"] = p_probes

out = []
w = out.append
w("# `golive monitor` vs blackbox_exporter + Prometheus")
w("")
w(f"{e['WHEN']} · {e['CORES']} cores, {e['CPU_MODEL']} · Linux {e['KERNEL']} · "
  f"golive {e['GOLIVE_VERSION']} (HEAD {e['COMMIT']}) · "
  f"Prometheus {e['PROM_VERSION']} · blackbox_exporter {e['BB_VERSION']}")
w("")
w(f"`{e['CMD']}`")
w("")
w(f"Both watchers ran **at the same time**, for the same {e['SECS']} s (measured {dur:.0f} s, "
  f"after 5 s to settle; counts in the same window), against the same `golive sandbox`: {e['ITEMS']} HTTP checks every 1 s "
  "cycling through `/health`, `/api/portfolio`, `/api/quotes/AAPL`. golive: one `error_rate > 5%` "
  "rule (10 s windows, for 30 s) and one `availability > 99.5% over 1d` objective per item, "
  "state in SQLite. Peer: blackbox_exporter (`http_2xx`, ip4, timeout 1 s) scraped by Prometheus "
  "through `/probe` (scrape_interval 1 s, standard relabelling), with one equivalent alert rule "
  "over all targets (evaluated every 10 s). CPU is utime+stime from `/proc/PID/stat` over the "
  f"measured window in % of one core; RSS is `VmRSS` read every 10 s. Load average at the start "
  f"{e['LOAD0']}, at the end {e['LOAD1']} (other work on the machine slows both alike).")
w("")
w("| Process | CPU % (avg) | CPU s | Peak RSS MB | RSS min 2 MB | RSS end MB | Growth min 2→end MB | Growth MB/min | VmHWM MB |")
w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
label = {"golive": "**golive monitor**", "blackbox": "blackbox_exporter", "prometheus": "prometheus",
         "peer": "**peer (blackbox + prometheus)**", "sandbox": "sandbox (target, both)"}
for n in ("golive", "blackbox", "prometheus", "peer", "sandbox"):
    x = f[n]
    w(f"| {label[n]} | {x['cpu_pct']:.1f} | {x['cpu_s']:.1f} | {x['peak']:.1f} | {x['min2']:.1f} | "
      f"{x['end']:.1f} | {x['growth']:+.1f} | {x['growth_pm']:+.2f} | {x['hwm']:.1f} |")
w("")
g, p = f["golive"], f["peer"]
def ratio(a, b):
    return a / b if b else float("nan")
w("| Ratio golive / peer | Value |")
w("| --- | ---: |")
w(f"| CPU | **{ratio(g['cpu_s'], p['cpu_s']):.2f}** |")
w(f"| Peak RSS | **{ratio(g['peak'], p['peak']):.2f}** |")
w(f"| RSS at the end | {ratio(g['end'], p['end']):.2f} |")
w(f"| CPU per sample | {ratio(g['cpu_s'] / g_samples if g_samples else float('nan'), p['cpu_s'] / p_probes if p_probes else float('nan')):.2f} |")
w(f"| CPU vs Prometheus alone | {ratio(g['cpu_s'], f['prometheus']['cpu_s']):.2f} |")
w(f"| Peak RSS vs Prometheus alone | {ratio(g['peak'], f['prometheus']['peak']):.2f} |")
w("")
w("| Work and storage | golive monitor | peer |")
w("| --- | ---: | ---: |")
w(f"| Samples / probes in the window (expected ≈ {expected:,}) | {g_samples:,.0f} | {p_probes:,.0f} |")
w(f"| Failed samples / probes | {g_fail:,.0f} | {p_probes - p_ok:,.0f} |")
w(f"| Failed scrapes (`up == 0`) | — | {p_scrapes - p_scrapes_ok:,.0f} of {p_scrapes:,.0f} |")
w(f"| CPU ms per sample | {1000 * g['cpu_s'] / g_samples if g_samples else float('nan'):.3f} | "
  f"{1000 * p['cpu_s'] / p_probes if p_probes else float('nan'):.3f} |")
w(f"| Alerts firing at the end | {num(e['G_FIRING']):.0f} | {num(e['P_ALERTS']):.0f} |")
db, wal = int(e["DB_BYTES"]), int(e["WAL_BYTES"])
dbs, wals = int(e["DB_BYTES_STOPPED"]), int(e["WAL_BYTES_STOPPED"])
w(f"| State on disk at the end | {(db + wal) / 1048576:.2f} MB (db {db / 1048576:.2f} + wal {wal / 1048576:.2f}); "
  f"after stop {(dbs + wals) / 1048576:.2f} MB | TSDB {int(e['TSDB_KB']) / 1024:.2f} MB |")
w(f"| Item states at the end | {e['G_FINAL_STATES']} | — |")
w(f"| Stop on SIGTERM | exit {e['G_EXIT']} in {e['STOP_MS']} ms | — |")
w(f"| stderr: lines, of which warn/error (golive); warn/error lines (peer) | {e['G_ERR_LINES']}, {e['G_WARN_LINES']} | "
  f"blackbox {e['B_ERR_LINES']}, prometheus {e['P_ERR_LINES']} |")
w("")
w("RSS every minute (MB):")
w("")
mark = [s for s in rows["golive"] if round(s[0]) % 60 < 10 or s is rows["golive"][-1]]
ts = [s[0] for s in mark]
w("| t (s) | " + " | ".join(f"{t:.0f}" for t in ts) + " |")
w("| --- |" + " ---: |" * len(ts))
for n in ("golive", "blackbox", "prometheus", "peer"):
    by_t = {s[0]: s[2] for s in rows[n]}
    w(f"| {n} | " + " | ".join(f"{by_t.get(t, 0) / 1024:.1f}" for t in ts) + " |")
w("")
w("Item states once a minute:")
w("")
w("```")
out.extend(open(e["STATES"]).read().splitlines())
w("```")
errs = open(e["G_ERR_FILE"], errors="replace").read().splitlines()
if errs:
    w("")
    w(f"golive stderr ({len(errs)} lines, first 10):")
    w("")
    w("```")
    out.extend(errs[:10])
    w("```")
print("\n".join(out))
PY
cat "$tmp/MONITOR.md"
cp "$tmp/MONITOR.md" "$RESULTS"
log "wrote $RESULTS"
if [ -n "$KEEP" ]; then
  mkdir -p "$KEEP"
  cp "$tmp"/*.csv "$tmp"/*.txt "$tmp"/*.err "$tmp"/*.yaml "$tmp"/*.yml "$KEEP"/
  log "raw data in $KEEP"
fi
