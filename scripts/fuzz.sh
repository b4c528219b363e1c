#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of every parser of untrusted input (docs/security.md,
# "Fuzzing"): each cargo-fuzz target in fuzz/ runs for FUZZ_SECONDS (default 20) from the
# corpus kept in fuzz/corpus/<target>. New inputs libFuzzer finds go to a scratch
# directory, not the repository; a crash fails the run and leaves its input in
# fuzz/artifacts/<target>/ (reproduce: `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>`).
# cargo-fuzz wants nightly features; RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${FUZZ_SECONDS:-20}"
command -v cargo-fuzz >/dev/null || { echo "fuzz.sh: installing cargo-fuzz" >&2; cargo install cargo-fuzz --locked; }
export RUSTC_BOOTSTRAP=1
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cargo fuzz build
for t in $(cargo fuzz list); do
  mkdir -p "$scratch/$t" "corpus/$t"
  rm -rf "artifacts/$t"
  echo "== fuzz $t (${secs}s)"
  cargo fuzz run "$t" "$scratch/$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
    | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|thread .* panicked|Done)' || true
  # cargo fuzz exits non-zero on a crash; with `|| true` above, check for artifacts instead.
  if compgen -G "artifacts/$t/*" >/dev/null; then
    echo "FAIL: fuzz target $t crashed; inputs in fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
echo "fuzz: every target ran ${secs}s without a crash"
