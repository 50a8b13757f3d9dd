#!/usr/bin/env bash
# No-op rerun benchmark: how long `./build.sh --target=TARGET --project=PROJECT` takes when nothing changed
# (every stage Skipped), as the median of RUNS timed runs after one untimed run that brings everything up to date.
# Usage: build/bench/noop-rerun.sh [PROJECT] [TARGET] [RUNS]     (defaults: demo Train 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
project=${1:-demo}; target=${2:-Train}; runs=${3:-5}
log=${TMPDIR:-/tmp}/lorabake-noop-rerun.log
./build.sh --target="$target" --project="$project" >"$log"   # builds and runs whatever is stale
times=()
for i in $(seq "$runs"); do
  start=$(date +%s.%N)
  ./build.sh --target="$target" --project="$project" >"$log"
  end=$(date +%s.%N)
  if grep -E ": running \(" "$log" >/dev/null; then
    echo "run $i ran a stage; a no-op rerun must run none (see $log)" >&2; exit 1
  fi
  t=$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}'); times+=("$t")
  printf 'run %d: %.2f s\n' "$i" "$t"
done
median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
printf 'no-op rerun (%s, %s): median %.2f s of %d runs\n' "$target" "$project" "$median" "$runs"
