#!/usr/bin/env bash
# Process benchmark: LoraBake (all cores and one thread) against Pillow on the same generated JPEGs, with peak memory.
# Usage: build/bench/process.sh [COUNT] [RESOLUTION]   (needs python3-pil for the Pillow side)
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-200}; res=${2:-512}
dir=${TMPDIR:-/tmp}/lorabake-bench-process
dotnet build src/LoraBake.Cli -c Release -v q >/dev/null
cli="dotnet src/LoraBake.Cli/bin/Release/net10.0/lorabake.dll"
$cli bench process --count "$count" --resolution "$res" --dir "$dir" --threads 1 >/dev/null   # generate the files first
for threads in 0 1; do
  /usr/bin/time -v $cli bench process --count "$count" --resolution "$res" --dir "$dir" --threads $threads 2>/tmp/lorabake-bench.time
  grep "Maximum resident" /tmp/lorabake-bench.time
done
/usr/bin/time -v /usr/bin/python3 build/bench/process_pillow.py "$dir" "$res" 2>/tmp/lorabake-bench.time
grep "Maximum resident" /tmp/lorabake-bench.time
