#!/usr/bin/env bash
# Bounded fuzzing of golive's front end (checklist and scenario YAML -> spec -> plan) and of
# its expression parser, with libFuzzer. `.ci/run` calls it; a developer can too:
#
#   bash ci/fuzz.sh [SECONDS]      # each target SECONDS (default 40, or $GOLIVE_FUZZ_SECONDS)
#
# It builds tests/fuzz with plain cargo and the coverage flags cargo-fuzz would pass, so a
# clean machine needs no cargo-fuzz (minutes to install) and the build takes the `fuzz`
# profile of tests/fuzz/Cargo.toml instead of cargo-fuzz's one-codegen-unit release build of
# every dependency. No sanitizer: the front end has no unsafe code, and what the fuzzer hunts is
# panics, stack overflows, hangs and memory blow-ups. A crash fails the script; copy its input
# from tests/fuzz/artifacts/TARGET/ into tests/fuzz/regressions/ so `cargo test` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-${GOLIVE_FUZZ_SECONDS:-40}}
triple=$(rustc -vV | sed -n 's/^host: //p')
flags=(
  -Cpasses=sancov-module
  -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  -Cllvm-args=-sanitizer-coverage-stack-depth
  -Cllvm-args=-simplifycfg-branch-fold-threshold=0
  --cfg fuzzing
)
# --target keeps the flags away from build scripts and proc macros, as cargo-fuzz does.
RUSTFLAGS="${flags[*]}" cargo build --locked --manifest-path tests/fuzz/Cargo.toml \
  --target "$triple" --profile fuzz --target-dir target/fuzz-build
bin="target/fuzz-build/$triple/fuzz"

fuzz() {
  mkdir -p "target/fuzz-corpus/$1" "tests/fuzz/artifacts/$1"
  "$bin/$1" -artifact_prefix="tests/fuzz/artifacts/$1/" \
    -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    "target/fuzz-corpus/$1" "tests/fuzz/seeds/$1" > "target/fuzz-$1.log" 2>&1
}
# A fuzzer is one process on one core: two at a time, so on two cores each keeps a core.
failed=0
fuzz checklist & checklist=$!
fuzz scenario || failed=1
wait "$checklist" || failed=1
fuzz expression || failed=1
for target in checklist scenario expression; do
  echo "-- $target"
  tail -n 12 "target/fuzz-$target.log"
done
[ "$failed" = 0 ] || { echo "a fuzzer failed (its log is above)"; exit 1; }
