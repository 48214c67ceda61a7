#!/usr/bin/env bash
# Acceptance of the regression gate (`gate --baseline`): on the release
# build, against the spawned reference system, with ci/regression.toml:
#   1. run the suite on the sound build and save it as the baseline;
#   2. the same build again, compared with it → exit 0;
#   3. five more repeats of the same build → never exit 1 (noise alone never
#      fails; 3 would be a run the generator could not keep up with);
#   4. the `slow-cached` twin (+20 ms on every cached load) → exit 1, with
#      the confidence interval in summary.md / regression.md.
# Prints each run's regression table. About 4 minutes on 2 cores.
#
#   bash ci/regression-gate.sh [OUT_DIR]     (default target/ci-regression)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/ci-regression}
rm -rf "$out"
mkdir -p "$out"
cargo build --release --quiet
bin=target/release/somon-verify
suite=ci/regression.toml

code() { local c=0; "$@" >"$out/last.log" 2>&1 || c=$?; echo "$c"; }
table() { sed -n '/^| Journey/,/^$/p' "$1/regression.md"; }

c=$(code "$bin" gate --suite "$suite" --out "$out/baseline-run")
[ "$c" = 0 ] || { cat "$out/last.log"; echo "baseline run: exit $c"; exit 1; }
"$bin" baseline save "$out/baseline-run" --out "$out/baseline"

c=$(code "$bin" gate --suite "$suite" --baseline "$out/baseline" --out "$out/same")
echo "same build: exit $c (want 0)"; table "$out/same"
[ "$c" = 0 ] || { cat "$out/last.log"; exit 1; }

for i in 1 2 3 4 5; do
  c=$(code "$bin" gate --suite "$suite" --baseline "$out/baseline" --out "$out/repeat-$i")
  echo "repeat $i: exit $c (want not 1)"; table "$out/repeat-$i"
  [ "$c" != 1 ] || { cat "$out/last.log"; echo "noise alone failed the gate"; exit 1; }
done

c=$(code "$bin" gate --suite "$suite" --baseline "$out/baseline" --defect slow-cached --out "$out/slow-cached")
echo "slow-cached twin: exit $c (want 1)"; table "$out/slow-cached"
[ "$c" = 1 ] || { cat "$out/last.log"; exit 1; }
grep -q 'REGRESSION (the whole interval is beyond the tolerance)' "$out/slow-cached/summary.md"
echo "regression gate: same build PASS, 5 repeats never FAIL, slow-cached FAIL"
