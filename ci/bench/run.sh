#!/usr/bin/env bash
# Compares golive's load generator with wrk and oha in one run on this machine and
# prints ratios (never absolute times alone) against the goals in ci/bench/README.md.
#
#   bash ci/bench/run.sh              # full run, about 12 minutes; writes ci/bench/RESULTS.md
#   BENCH_QUICK=1 bash ci/bench/run.sh  # about 3 minutes; shorter memory and open-model runs
#
# Every other knob is an environment variable, listed below with its default.
# Traffic goes only to 127.0.0.1; every process this script starts is stopped by PID.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

quick="${BENCH_QUICK:-0}"
if [ "$quick" = 1 ]; then
  d_rounds=2 d_secs=5 d_open_repeats=1 d_open_secs=10 d_mem_long=60 d_mem_short=20
else
  d_rounds=5 d_secs=10 d_open_repeats=3 d_open_secs=30 d_mem_long=300 d_mem_short=60
fi
ROUNDS="${BENCH_ROUNDS:-$d_rounds}"             # throughput rounds (wrk, oha, golive each)
SECS="${BENCH_SECS:-$d_secs}"                   # seconds per tool per round
CONNS="${BENCH_CONNECTIONS:-50}"                # keep-alive connections (closed model)
OPEN_RATE="${BENCH_OPEN_RATE:-10000}"           # open-model arrival rate, per second
OPEN_REPEATS="${BENCH_OPEN_REPEATS:-$d_open_repeats}"
OPEN_SECS="${BENCH_OPEN_SECS:-$d_open_secs}"
MEM_LONG="${BENCH_MEM_LONG_SECS:-$d_mem_long}"  # the long max-rate run for peak RSS and growth
MEM_SHORT="${BENCH_MEM_SHORT_SECS:-$d_mem_short}"
TARGET_CORE="${BENCH_TARGET_CORE:-0}"           # nginx runs here
LOAD_CORE="${BENCH_LOAD_CORE:-1}"               # every load tool runs here
OUT="${BENCH_OUT:-$here/out/$(date -u +%Y%m%dT%H%M%SZ)}"  # raw outputs (git-ignored)
RESULTS="${BENCH_RESULTS:-$here/RESULTS.md}"
GOLIVE="${GOLIVE_BIN:-}"                        # a prebuilt golive; empty = build this tree

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# ---- peers and tools -------------------------------------------------------------------
need_apt=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v python3 >/dev/null || need_apt+=(python3)
[ -x /usr/bin/time ] || need_apt+=(time)
command -v taskset >/dev/null || need_apt+=(util-linux)
command -v pgrep >/dev/null || need_apt+=(procps)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if ! apt-get install -y -qq "${need_apt[@]}"; then
    # nginx-light is gone from newer Debian releases; the full package serves files the same.
    apt-get install -y -qq "${need_apt[@]/nginx-light/nginx}"
  fi
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v oha >/dev/null; then
  log "installing oha with cargo (compiles for several minutes, once)"
  cargo install --locked oha
fi

if [ -z "$GOLIVE" ]; then
  log "building golive (release)"
  (cd "$repo" && cargo build --release --quiet)
  GOLIVE="$repo/target/release/golive"
fi
# The commit measured (read once, before the run: HEAD may move while it runs).
commit="${GOLIVE_COMMIT:-$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
if [ -z "${GOLIVE_COMMIT:-}" ] && [ -z "${GOLIVE_BIN:-}" ] \
  && [ -n "$(git -C "$repo" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]; then
  commit="$commit (with uncommitted changes)"
fi
[ -x "$GOLIVE" ] || { echo "error: no golive binary at $GOLIVE" >&2; exit 3; }

# oha's machine-readable output flag changed across versions.
if oha --help 2>&1 | grep -q -- '--output-format'; then
  OHA_JSON=(--output-format json)
else
  OHA_JSON=(--json)
fi
OHA_WAIT=()
oha --help 2>&1 | grep -q -- '--wait-ongoing-requests-after-deadline' \
  && OHA_WAIT=(--wait-ongoing-requests-after-deadline)

mkdir -p "$OUT"
log "raw outputs in $OUT"

# ---- the target: nginx serving a 2-byte file, one worker on its own core ---------------
tmp="$(mktemp -d /tmp/golive-bench.XXXXXX)"
chmod 755 "$tmp"
# Processes of ours that may be running: nginx, and the load run in progress (its PIDs are
# dropped from the list once it has been waited for, so no reused PID is ever signalled).
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
forget_run() { pids=("${pids[0]}"); }
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mkdir -p "$tmp/www" "$tmp/logs"
printf 'ok' >"$tmp/www/ok"
chmod 644 "$tmp/www/ok"
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  # Keep-alive without a per-connection request cap, so every tool measures the same
  # thing: requests on open connections (nginx's default cap is 1000 per connection).
  keepalive_requests 1000000000;
  keepalive_timeout 600s;
  server {
    listen 127.0.0.1:$port;
    root $tmp/www;
    location / { default_type text/plain; }
  }
}
EOF
taskset -c "$TARGET_CORE" "$NGINX" -e "$tmp/logs/error.log" -p "$tmp" -c "$tmp/nginx.conf" \
  -g 'daemon off;' &
pids+=("$!")
URL="http://127.0.0.1:$port/ok"
for _ in $(seq 1 50); do
  if python3 - "$URL" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=1).read() == b"ok" else 1)
PY
  sleep 0.1
done
log "nginx (PID ${pids[0]}) serves $URL on core $TARGET_CORE; load tools on core $LOAD_CORE"

# Another job on this 2-core machine (a build, a test suite) would skew a run: wait until
# the machine is idle (at most BENCH_QUIET_WAIT seconds), and note any run that was not.
QUIET_WAIT="${BENCH_QUIET_WAIT:-180}"
QUIET_BUSY="${BENCH_QUIET_BUSY:-10}"  # percent of all cores busy that still counts as idle
: >"$OUT/quiet.txt"
cpu_sample() { awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat; }
busy_pct() {
  local t0 i0 t1 i1
  read -r t0 i0 < <(cpu_sample)
  sleep 1
  read -r t1 i1 < <(cpu_sample)
  echo $(((100 * ((t1 - t0) - (i1 - i0))) / ((t1 - t0) > 0 ? (t1 - t0) : 1)))
}
wait_quiet() {
  local label="$1" start=$SECONDS busy
  while :; do
    busy="$(busy_pct)"
    [ "$busy" -le "$QUIET_BUSY" ] && break
    if [ $((SECONDS - start)) -ge "$QUIET_WAIT" ]; then
      log "warning: $label starts on a busy machine ($busy% of all cores in use)"
      break
    fi
    [ $(((SECONDS - start) % 15)) -lt 2 ] && log "waiting for an idle machine ($busy% busy)"
  done
  printf '%s %s %s\n' "$label" "$busy" "$((SECONDS - start))" >>"$OUT/quiet.txt"
}

# Each load run is pinned to the load core, bounded (its own duration plus a margin), and
# measured: /usr/bin/time -v gives the tool's CPU time and peak RSS, /proc/stat the CPU
# time of the whole machine (steal included), nginx's /proc/PID/stat its own; what is
# left was used by other processes (or taken by the hypervisor) and is reported as noise.
HZ="$(getconf CLK_TCK)"
NGINX_PIDS="${pids[0]} $(pgrep -P "${pids[0]}" | tr '\n' ' ')"
snapshot() {
  local busy ng=0 p
  # Busy time counts steal: CPU time the hypervisor gave to other machines.
  busy="$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $9}' /proc/stat)"
  for p in $NGINX_PIDS; do
    ng=$((ng + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "${busy% *} $ng ${busy#* }"
}
# measure LABEL SECS CMD...: runs CMD with stdout to $OUT/LABEL.out. A run during which
# other processes used more than BENCH_NOISE_MAX percent of a core is kept as
# LABEL.noisyN.* and run again, at most BENCH_RETRIES times. With MEASURE_BG=1 it starts
# CMD and returns at once (finish with `measure_end LABEL`; no retries).
NOISE_MAX="${BENCH_NOISE_MAX:-15}"
RETRIES="${BENCH_RETRIES:-3}"
measure() {
  local label="$1" secs="$2" attempt=0 noise f
  shift 2
  while :; do
    measure_start "$label" "$secs" "$@"
    [ "${MEASURE_BG:-0}" = 1 ] && return
    measure_end "$label"
    noise="$(python3 "$here/figures.py" --noise "$OUT" "$label")"
    if [ "$noise" -le "$NOISE_MAX" ] || [ "$attempt" -ge "$RETRIES" ]; then
      [ "$noise" -le "$NOISE_MAX" ] || log "warning: $label kept with ${noise}% noise"
      return
    fi
    attempt=$((attempt + 1))
    log "$label: other processes used ${noise}% of a core; running it again"
    for f in "$OUT/$label".*; do
      mv "$f" "${f/$label./$label.noisy$attempt.}"
    done
  done
}
measure_start() {
  local label="$1" secs="$2"
  shift 2
  wait_quiet "$label"
  snapshot >"$OUT/$label.snap0"
  date +%s.%N >>"$OUT/$label.snap0"
  # A simple command, so that $! is timeout's own PID.
  timeout --kill-after=5 "$((secs + 30))" taskset -c "$LOAD_CORE" \
    /usr/bin/time -v -o "$OUT/$label.time" "$@" >"$OUT/$label.out" &
  MEASURED=$!
  pids+=("$MEASURED")
}
measure_end() {
  local label="$1" rc=0
  wait "$MEASURED" || rc=$?
  forget_run
  [ "$rc" = 0 ] || log "warning: $label exited $rc"
  snapshot >"$OUT/$label.snap1"
  date +%s.%N >>"$OUT/$label.snap1"
  echo "$HZ $rc" >>"$OUT/$label.snap1"
}

# ---- 1. closed-model throughput and p50 at $CONNS connections, interleaved ---------------
tools=(wrk oha golive)
for r in $(seq 1 "$ROUNDS"); do
  for k in 0 1 2; do
    tool="${tools[$(((r - 1 + k) % 3))]}"
    log "round $r/$ROUNDS: $tool for ${SECS}s"
    case "$tool" in
      wrk) measure "closed-$r-wrk" "$SECS" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$URL" ;;
      oha) measure "closed-$r-oha" "$SECS" oha -c "$CONNS" -z "${SECS}s" --no-tui \
             "${OHA_JSON[@]}" "${OHA_WAIT[@]}" "$URL" ;;
      golive) measure "closed-$r-golive" "$SECS" "$GOLIVE" load --url "$URL" \
                --users "$CONNS" --duration "${SECS}s" --json ;;
    esac
  done
done

# ---- 2. open model: $OPEN_RATE/s over $CONNS connections ---------------------------------
for r in $(seq 1 "$OPEN_REPEATS"); do
  log "open model $r/$OPEN_REPEATS: ${OPEN_RATE}/s for ${OPEN_SECS}s"
  measure "open-$r" "$OPEN_SECS" "$GOLIVE" load --url "$URL" --rate "${OPEN_RATE}/s" \
    --duration "${OPEN_SECS}s" --connections "$CONNS" --json
done

# ---- 3. memory: peak RSS and VmRSS over time at max rate ---------------------------------
mem_run() {
  local secs="$1" label="$2"
  log "memory: golive --users $CONNS for ${secs}s (VmRSS every 10 s)"
  MEASURE_BG=1 measure "$label" "$secs" "$GOLIVE" load --url "$URL" --users "$CONNS" \
    --duration "${secs}s" --json
  # timeout -> time -> golive: find golive's PID by parentage, not by name.
  local gpid="" tpid
  for _ in $(seq 1 100); do
    tpid="$(pgrep -P "$MEASURED" | head -n1 || true)"
    [ -n "$tpid" ] && gpid="$(pgrep -P "$tpid" | head -n1 || true)"
    [ -n "$gpid" ] && break
    sleep 0.05
  done
  [ -n "$gpid" ] && pids+=("$gpid")
  : >"$OUT/$label.rss"
  local t0=$SECONDS next=10 kb
  while [ -n "$gpid" ] && kill -0 "$MEASURED" 2>/dev/null; do
    sleep 0.5
    if [ $((SECONDS - t0)) -ge "$next" ]; then
      kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$gpid/status" 2>/dev/null || true)"
      [ -n "$kb" ] && printf '%d %s\n' "$((SECONDS - t0))" "$kb" >>"$OUT/$label.rss"
      next=$((next + 10))
    fi
  done
  measure_end "$label"
}
mem_run "$MEM_LONG" mem-long
mem_run "$MEM_SHORT" mem-short

# ---- machine facts and the table ---------------------------------------------------------
cat >"$OUT/facts.json" <<EOF
{
  "date": "$(date -u +'%Y-%m-%d %H:%M UTC')",
  "nproc": "$(nproc)",
  "cpu": "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)",
  "kernel": "$(uname -r)",
  "wrk": "$(wrk -v 2>&1 | head -n1 | sed 's/"/\\"/g' || true)",
  "oha": "$(oha --version 2>&1 | head -n1)",
  "nginx": "$("$NGINX" -v 2>&1 | head -n1)",
  "golive": "$commit",
  "url": "$URL",
  "rounds": $ROUNDS, "secs": $SECS, "connections": $CONNS,
  "open_rate": $OPEN_RATE, "open_repeats": $OPEN_REPEATS, "open_secs": $OPEN_SECS,
  "mem_long_secs": $MEM_LONG, "mem_short_secs": $MEM_SHORT,
  "quiet_busy": $QUIET_BUSY, "noise_max": $NOISE_MAX, "retries": $RETRIES, "quiet_wait": $QUIET_WAIT,
  "target_core": $TARGET_CORE, "load_core": $LOAD_CORE, "quick": $quick
}
EOF
python3 "$here/figures.py" "$OUT" "$RESULTS"
