#!/usr/bin/env bash
# The measuring half of run.sh; needs mpicc, mpirun and a place where TorchSharp loads (see run.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
rounds=${1:-3}
dll="$here/bin/Release/net10.0/ModelGen.Collectives.dll"
[ -f "$dll" ] || { echo "measure.sh: build benchmarks/ModelGen.Collectives first ($dll is missing)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpicc -O2 "$here/allreduce.c" -o "$work/allreduce"
# Same launch for both programs: shared memory between the 2 ranks, TCP restricted to loopback (see docs/distributed.md).
launch=(mpirun --allow-run-as-root --oversubscribe --mca btl_tcp_if_include lo -np 2)
export TERM=dumb
echo "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  # Alternate the programs so that both see the same background load.
  "${launch[@]}" "$work/allreduce" >"$work/c.$round"
  "${launch[@]}" dotnet "$dll" allreduce >"$work/cs.$round"
done
echo
echo "| size | C MPI_Allreduce (µs) | ModelGen AllReduce (µs) | C bus bandwidth (GB/s) | ModelGen bus bandwidth (GB/s) | ModelGen / C |"
echo "|---:|---:|---:|---:|---:|---:|"
# Best (smallest) time per size over the rounds; bus bandwidth = bytes / time × 2(n−1)/n (NCCL tests' definition), n = 2.
awk '
  FNR == 1 { program = (FILENAME ~ /\/c\.[0-9]+$/) ? "c" : "cs" }
  { if (!(($1, program) in best) || $2 < best[$1, program]) best[$1, program] = $2; sizes[$1] = 1 }
  END {
    for (key in sizes) {
      b = key + 0
      c = best[key, "c"]; m = best[key, "cs"]
      label = (b >= 1048576) ? sprintf("%d MiB", b / 1048576) : sprintf("%d KiB", b / 1024)
      printf "%d\t| %s | %.1f | %.1f | %.2f | %.2f | %.3f |\n", b, label, c * 1e6, m * 1e6, b / c / 1e9, b / m / 1e9, c / m
    }
  }' "$work"/c.* "$work"/cs.* | sort -n | cut -f 2-
echo
# The binding's fixed cost per call, on one rank (an in-place all-reduce of one float moves no data).
single=(mpirun --allow-run-as-root --oversubscribe -np 1)
echo "Fixed cost of one all-reduce call on one rank (ns): C $("${single[@]}" "$work/allreduce" callcost), ModelGen $("${single[@]}" dotnet "$dll" callcost)"
echo
echo "DistributedDataParallel, 2 ranks, 8 × Linear(1024, 1024) + tanh, batch 256, 10 steps (ms per step):"
echo
echo "| bucket | overlap | buckets (started in backward) | gradients | backward | synchronize | backward + synchronize | all-reduce | all-reduce hidden in backward |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
"${launch[@]}" dotnet "$dll" overlap 8 1024 256 10
echo
echo "load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo
echo "PlanTraining step time, 2 ranks, 8 residual blocks of Linear(1024, 1024) + tanh and a Linear head, batch 256, AdamW, 10 steps (ms per step):"
echo
echo "| plan | step | / DP | ZeRO-3 gathers per step | gather time hidden | gather time waited |"
echo "|---|---:|---:|---:|---:|---:|"
"${launch[@]}" dotnet "$dll" zero 8 1024 256 10
