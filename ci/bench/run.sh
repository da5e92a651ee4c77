#!/usr/bin/env bash
# Compares golive's load generator with wrk, oha and h2load in one run on this machine and
# prints ratios (never absolute times alone) against the goals in ci/bench/README.md.
#
#   bash ci/bench/run.sh                # full run, about 22 minutes; writes ci/bench/RESULTS.md
#   BENCH_QUICK=1 bash ci/bench/run.sh  # about 5 minutes; every section, short durations
#   BENCH_SECTIONS="stall shards" bash ci/bench/run.sh   # only some sections
#
# Sections: closed (closed model against wrk, oha and h2load, in both core assignments),
# open2k (open-model CPU against oha at 2,000/s), open10k (rate and send lag at 10,000/s),
# stall (coordinated omission: the target stopped for 2 s), mem (peak RSS: 50 users for
# long, 10,000 users), shards (4 local shards merged against one run).
# Every other knob is an environment variable, listed below with its default.
# Traffic goes only to 127.0.0.1; every process this script starts is stopped by PID.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

quick="${BENCH_QUICK:-0}"
if [ "$quick" = 1 ]; then
  d_rounds=2 d_secs=4 d_open_repeats=1 d_open_secs=8 d_mem_long=40 d_mem_short=15
  d_cpu_repeats=2 d_cpu_secs=8 d_mem_many_secs=8 d_shard_secs=6
else
  d_rounds=5 d_secs=10 d_open_repeats=3 d_open_secs=30 d_mem_long=300 d_mem_short=60
  d_cpu_repeats=3 d_cpu_secs=20 d_mem_many_secs=20 d_shard_secs=10
fi
SECTIONS_LIST="${BENCH_SECTIONS:-closed open2k open10k stall mem shards}"
SECTIONS=" $SECTIONS_LIST "
ROUNDS="${BENCH_ROUNDS:-$d_rounds}"             # closed-model rounds per core assignment
SECS="${BENCH_SECS:-$d_secs}"                   # seconds per tool per round
CONNS="${BENCH_CONNECTIONS:-50}"                # keep-alive connections (closed model)
CPU_RATE="${BENCH_CPU_RATE:-2000}"              # open-model CPU comparison with oha, per second
CPU_REPEATS="${BENCH_CPU_REPEATS:-$d_cpu_repeats}"
CPU_SECS="${BENCH_CPU_SECS:-$d_cpu_secs}"
OPEN_RATE="${BENCH_OPEN_RATE:-10000}"           # open-model arrival rate, per second
OPEN_REPEATS="${BENCH_OPEN_REPEATS:-$d_open_repeats}"
OPEN_SECS="${BENCH_OPEN_SECS:-$d_open_secs}"
STALL_RATE="${BENCH_STALL_RATE:-200}"           # stall test: arrivals per second,
STALL_SECS="${BENCH_STALL_SECS:-7}"             # run length,
STALL_AT="${BENCH_STALL_AT:-2.5}"               # seconds after the start the target stops,
STALL_LEN="${BENCH_STALL_LEN:-2}"               # and seconds it stays stopped
MEM_LONG="${BENCH_MEM_LONG_SECS:-$d_mem_long}"  # the long max-rate run for peak RSS and growth
MEM_SHORT="${BENCH_MEM_SHORT_SECS:-$d_mem_short}"
MEM_USERS="${BENCH_MEM_USERS:-10000}"           # the many-connections memory run
MEM_MANY_SECS="${BENCH_MEM_MANY_SECS:-$d_mem_many_secs}"
SHARDS="${BENCH_SHARDS:-4}"                     # local shard processes,
SHARD_RATE="${BENCH_SHARD_RATE:-4000}"          # their open-model rate together,
SHARD_SECS="${BENCH_SHARD_SECS:-$d_shard_secs}" # and run length
TARGET_CORE="${BENCH_TARGET_CORE:-0}"           # nginx runs here (the closed model also
LOAD_CORE="${BENCH_LOAD_CORE:-1}"               # swaps the two); every load tool runs here
OUT="${BENCH_OUT:-$here/out/$(date -u +%Y%m%dT%H%M%SZ)}"  # raw outputs (git-ignored)
RESULTS="${BENCH_RESULTS:-$here/RESULTS.md}"
GOLIVE="${GOLIVE_BIN:-}"                        # a prebuilt golive; empty = build this tree
has() { [[ "$SECTIONS" == *" $1 "* ]]; }

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# ---- peers and tools -------------------------------------------------------------------
need_apt=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v h2load >/dev/null || need_apt+=(nghttp2-client)
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
# The open-model comparisons need oha's latency correction (latency from the intended time).
OHA_LC=()
if oha --help 2>&1 | grep -q -- '--latency-correction'; then
  OHA_LC=(--latency-correction)
else
  log "warning: this oha has no --latency-correction; its open-model figures are not comparable"
fi

# 10,000 connections need as many descriptors in the tool and in nginx: raise the limit as
# far as this machine allows (a hard limit under 65536 is kept and noted).
NOFILE=65536
hard="$(ulimit -Hn)"
if [ "$hard" != unlimited ] && [ "$hard" -lt "$NOFILE" ]; then
  ulimit -Hn "$NOFILE" 2>/dev/null || NOFILE="$hard"
fi
ulimit -n "$NOFILE"
[ "$NOFILE" -ge $((MEM_USERS + 100)) ] \
  || log "warning: open files limited to $NOFILE; $MEM_USERS connections may fail"

mkdir -p "$OUT"
log "raw outputs in $OUT"

# ---- the target: nginx serving a 2-byte file, one worker on its own core ---------------
tmp="$(mktemp -d /tmp/golive-bench.XXXXXX)"
chmod 755 "$tmp"
# Processes of ours that may be running: nginx, and the load run in progress (its PIDs are
# dropped from the list once it has been waited for, so no reused PID is ever signalled).
pids=()
stalled=""  # the nginx worker while the stall test has it stopped
cleanup() {
  [ -z "$stalled" ] || kill -CONT "$stalled" 2>/dev/null || true
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
worker_rlimit_nofile $NOFILE;
events { worker_connections $((MEM_USERS > 12000 ? MEM_USERS + 2000 : 16384)); }
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
    listen 127.0.0.1:$port backlog=16384;
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
NGINX_WORKER="$(pgrep -P "${pids[0]}" | head -n1)"
NGINX_PIDS="${pids[0]} $NGINX_WORKER"
# The load tools' core for the runs to come: $LOAD_CORE, except while the closed model runs
# with the cores swapped. assign_cores moves nginx (master and worker) to core $1 and the
# load tools to core $2.
tool_core="$LOAD_CORE"
assign_cores() {
  local p
  for p in $NGINX_PIDS; do
    taskset -pc "$1" "$p" >/dev/null
  done
  tool_core="$2"
  log "nginx now on core $1, load tools on core $2"
}
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
  timeout --kill-after=5 "$((secs + 30))" taskset -c "$tool_core" \
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

# ---- 1. closed model at $CONNS connections, interleaved, in both core assignments ------
if has closed; then
  tools=(wrk oha h2load golive)
  for assignment in "$TARGET_CORE:$LOAD_CORE" "$LOAD_CORE:$TARGET_CORE"; do
    ncore="${assignment%:*}"
    assign_cores "$ncore" "${assignment#*:}"
    for r in $(seq 1 "$ROUNDS"); do
      for k in 0 1 2 3; do
        tool="${tools[$(((r - 1 + k) % 4))]}"
        label="closed-n$ncore-$r-$tool"
        log "nginx on core $ncore, round $r/$ROUNDS: $tool for ${SECS}s"
        case "$tool" in
          wrk) measure "$label" "$SECS" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$URL" ;;
          oha) measure "$label" "$SECS" oha -c "$CONNS" -z "${SECS}s" --no-tui \
                 "${OHA_JSON[@]}" "${OHA_WAIT[@]}" "$URL" ;;
          h2load) measure "$label" "$SECS" h2load --h1 -c "$CONNS" -t 1 -D "$SECS" "$URL" ;;
          golive) measure "$label" "$SECS" "$GOLIVE" load --url "$URL" \
                    --users "$CONNS" --duration "${SECS}s" --json ;;
        esac
      done
    done
  done
  assign_cores "$TARGET_CORE" "$LOAD_CORE"
fi

# ---- 2. open-model CPU against oha at $CPU_RATE/s, interleaved ---------------------------
if has open2k; then
  for r in $(seq 1 "$CPU_REPEATS"); do
    for tool in golive oha; do
      [ $((r % 2)) = 0 ] && tool="$([ "$tool" = golive ] && echo oha || echo golive)"
      log "open model CPU $r/$CPU_REPEATS: $tool at ${CPU_RATE}/s for ${CPU_SECS}s"
      if [ "$tool" = golive ]; then
        measure "open2k-$r-golive" "$CPU_SECS" "$GOLIVE" load --url "$URL" \
          --rate "${CPU_RATE}/s" --duration "${CPU_SECS}s" --connections "$CONNS" --json
      else
        measure "open2k-$r-oha" "$CPU_SECS" oha -q "$CPU_RATE" "${OHA_LC[@]}" \
          -z "${CPU_SECS}s" -c "$CONNS" --no-tui "${OHA_JSON[@]}" "${OHA_WAIT[@]}" "$URL"
      fi
    done
  done
fi

# ---- 3. open model: $OPEN_RATE/s over $CONNS connections ---------------------------------
if has open10k; then
  for r in $(seq 1 "$OPEN_REPEATS"); do
    log "open model $r/$OPEN_REPEATS: ${OPEN_RATE}/s for ${OPEN_SECS}s"
    measure "open-$r" "$OPEN_SECS" "$GOLIVE" load --url "$URL" --rate "${OPEN_RATE}/s" \
      --duration "${OPEN_SECS}s" --connections "$CONNS" --json
  done
fi

# ---- 4. stall: nginx's worker stopped for $STALL_LEN s in an open-model run -------------
# The wall-clock times of the launch, the stop and the continue go to LABEL.stall; the
# honest latencies follow from them and the arrival schedule (figures.py).
stall_run() {
  local label="$1" t_stop t_cont
  shift
  log "stall: $label at ${STALL_RATE}/s for ${STALL_SECS}s, nginx stopped ${STALL_LEN}s"
  MEASURE_BG=1 measure "$label" "$STALL_SECS" "$@"
  sleep "$STALL_AT"
  t_stop="$(date +%s.%N)"
  stalled="$NGINX_WORKER"
  kill -STOP "$NGINX_WORKER"
  sleep "$STALL_LEN"
  kill -CONT "$NGINX_WORKER"
  stalled=""
  t_cont="$(date +%s.%N)"
  measure_end "$label"
  printf '%s %s %s %s\n' "$(sed -n 2p "$OUT/$label.snap0")" "$t_stop" "$t_cont" \
    "$STALL_RATE" >"$OUT/$label.stall"
}
if has stall; then
  stall_run stall-golive "$GOLIVE" load --url "$URL" --rate "${STALL_RATE}/s" \
    --duration "${STALL_SECS}s" --connections "$CONNS" --timeout 5s --json
  stall_run stall-oha oha -q "$STALL_RATE" "${OHA_LC[@]}" -z "${STALL_SECS}s" -c "$CONNS" \
    --no-tui "${OHA_JSON[@]}" "${OHA_WAIT[@]}" "$URL"
fi

# ---- 5. memory: peak RSS and VmRSS over time at max rate, and at $MEM_USERS users --------
mem_run() {
  local secs="$1" label="$2" users="$3"
  log "memory: golive --users $users for ${secs}s (VmRSS every 10 s)"
  MEASURE_BG=1 measure "$label" "$secs" "$GOLIVE" load --url "$URL" --users "$users" \
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
if has mem; then
  mem_run "$MEM_LONG" mem-long "$CONNS"
  mem_run "$MEM_SHORT" mem-short "$CONNS"
  mem_run "$MEM_MANY_SECS" mem-many-golive "$MEM_USERS"
  log "memory: wrk and oha at $MEM_USERS connections for ${MEM_MANY_SECS}s (peer figures)"
  measure mem-many-wrk "$MEM_MANY_SECS" wrk -t1 -c"$MEM_USERS" -d"${MEM_MANY_SECS}s" \
    --latency "$URL"
  measure mem-many-oha "$MEM_MANY_SECS" oha -c "$MEM_USERS" -z "${MEM_MANY_SECS}s" --no-tui \
    "${OHA_JSON[@]}" "${OHA_WAIT[@]}" "$URL"
fi

# ---- 6. shards: $SHARDS local processes at $SHARD_RATE/s together, merged, against one run
if has shards; then
  cat >"$tmp/shards.yaml" <<EOF
name: bench-shards
target: "http://127.0.0.1:$port"
requests:
  - { name: ok, path: /ok }
executor: { kind: constant-rate, rate: $SHARD_RATE/s, duration: ${SHARD_SECS}s, connections: $CONNS }
thresholds: [error_rate < 1%]
EOF
  log "shards: $SHARDS processes at ${SHARD_RATE}/s together for ${SHARD_SECS}s"
  wait_quiet shards
  # One absolute start time for all (now+DURATION would differ per process).
  at="$(date -u -d '+4 seconds' +%Y-%m-%dT%H:%M:%SZ)"
  spids=()
  for i in $(seq 0 $((SHARDS - 1))); do
    timeout --kill-after=5 "$((SHARD_SECS + 40))" taskset -c "$tool_core" \
      /usr/bin/time -v -o "$OUT/shard-$i.time" "$GOLIVE" load "$tmp/shards.yaml" \
      --shard "$i/$SHARDS" --start-at "$at" --out "$OUT/shard-$i" --provider external -q \
      >"$OUT/shard-$i.log" 2>&1 &
    pids+=("$!")
    spids+=("$!")
  done
  for p in "${spids[@]}"; do
    wait "$p" || log "warning: a shard exited $?"
  done
  forget_run
  rc=0
  timeout 60 "$GOLIVE" merge -q -o "$OUT/shards-merged.json" "$OUT"/shard-*/results.json \
    >"$OUT/shards-merge.log" 2>&1 || rc=$?
  echo "$rc" >"$OUT/shards-merge.rc"
  log "shards merged (exit $rc); now one unsharded run at the same rate"
  # No retry: a second attempt would find the first one's results.json and be refused.
  MEASURE_BG=1 measure shard-single "$SHARD_SECS" "$GOLIVE" load "$tmp/shards.yaml" \
    --out "$OUT/shard-single" --provider external -q
  measure_end shard-single
fi

# ---- machine facts and the table ---------------------------------------------------------
cat >"$OUT/facts.json" <<EOF
{
  "date": "$(date -u +'%Y-%m-%d %H:%M UTC')",
  "nproc": "$(nproc)",
  "cpu": "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)",
  "kernel": "$(uname -r)",
  "wrk": "$(wrk -v 2>&1 | head -n1 | sed 's/"/\\"/g' || true)",
  "oha": "$(oha --version 2>&1 | head -n1)",
  "h2load": "$(h2load --version 2>&1 | head -n1)",
  "nginx": "$("$NGINX" -v 2>&1 | head -n1)",
  "golive": "$commit",
  "url": "$URL",
  "sections": "$SECTIONS_LIST",
  "rounds": $ROUNDS, "secs": $SECS, "connections": $CONNS,
  "cpu_rate": $CPU_RATE, "cpu_repeats": $CPU_REPEATS, "cpu_secs": $CPU_SECS,
  "open_rate": $OPEN_RATE, "open_repeats": $OPEN_REPEATS, "open_secs": $OPEN_SECS,
  "stall_rate": $STALL_RATE, "stall_secs": $STALL_SECS, "stall_at": $STALL_AT,
  "stall_len": $STALL_LEN,
  "mem_long_secs": $MEM_LONG, "mem_short_secs": $MEM_SHORT,
  "mem_users": $MEM_USERS, "mem_many_secs": $MEM_MANY_SECS, "nofile": $NOFILE,
  "shards": $SHARDS, "shard_rate": $SHARD_RATE, "shard_secs": $SHARD_SECS,
  "quiet_busy": $QUIET_BUSY, "noise_max": $NOISE_MAX, "retries": $RETRIES, "quiet_wait": $QUIET_WAIT,
  "target_core": $TARGET_CORE, "load_core": $LOAD_CORE, "quick": $quick
}
EOF
python3 "$here/figures.py" "$OUT" "$RESULTS"
