#!/usr/bin/env bash
# ModelGen's share of a real compile, two ways (docs/benchmarks-analyzers.md):
#  1. what the compiler reports itself (-p:ReportAnalyzer=true): generator and analyzer wall-clock times beside the Csc task;
#  2. CPU time: the same compiler command run directly, with ModelGen, and without it (its generated files given as plain sources
#     instead), alternated RUNS times; ModelGen's share is the difference of the medians over the median with it. The compiler
#     reports the generator's wall time including work the compile needs anyway and pays for once, whoever touches it first (loading
#     the referenced assemblies' symbols), so the CPU difference is what ModelGen adds.
#     A third variant loads ModelGen's plain IL assemblies instead of their ReadyToRun copies (eng/ReadyToRun.targets), so one
#     run shows what precompiling saves; a last run of each variant counts the methods the JIT compiles (DOTNET_JitStdOutFile).
# Usage: benchmarks/analyzer-build-time.sh [PROJECT_DIR]   (default: the 100-distinct-layer model of AnalyzerBenchmarks;
#        e.g. samples/Llama). RUNS=7 by default. Refuses to report while the 1-minute load average is at or above the core count.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=eng/common.sh
. "$repo/eng/common.sh"
mg_report_failures
runs=${RUNS:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -ge 1 ]; then
  dir=$(cd "$1" && pwd -P)
  projects=("$dir"/*.csproj)
  project=${projects[0]}
  [ -f "$project" ] || { mg_say "no project file in $dir"; exit 2; }
else
  dotnet build -c Release "$repo/benchmarks/ModelGen.Benchmarks" -v:q -nologo >/dev/null
  dotnet "$repo/benchmarks/ModelGen.Benchmarks/bin/Release/net10.0/ModelGen.Benchmarks.dll" write-analyzer-model "$work"
  project="$work/Deep.csproj"
  cat > "$project" <<PROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <NoWarn>\$(NoWarn);MG0001;CS1591</NoWarn>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
  </PropertyGroup>
  <Import Project="$repo/src/LocalReference.props" />
</Project>
PROJ
  dotnet restore "$project" -v:q -nologo >/dev/null
fi
# Build once to warm the referenced projects, then time a rebuild of the project alone, on an idle machine only.
dotnet build "$project" -c Release -v:q -nologo >/dev/null
# The same compile with ModelGen's plain IL assemblies (-p:ModelGenReadyToRun=false), to show what precompiling saves; built
# first, because a rebuild cleans what the build before it wrote (the ReadyToRun copies gathered in obj/).
dotnet build "$project" -c Release --no-dependencies --no-incremental -nologo -v:d -p:ReportAnalyzer=true -p:ModelGenReadyToRun=false > "$work/build-il.log"
mg_require_idle before
dotnet build "$project" -c Release --no-dependencies --no-incremental -nologo -v:d -p:ReportAnalyzer=true -clp:PerformanceSummary > "$work/build.log"
reported=$(grep -E "Total analyzer execution time|Total generator execution time|^ *[0-9.]+ +[<0-9]+ +ModelGen\.(Analyzers|Generators)\.[A-Za-z]+|^ +[0-9]+ ms +Csc +[0-9]+ calls" "$work/build.log" | sed 's/^ *//' | sort -u)

# The compiler command of that build (the detailed log prints it), run directly: with ModelGen, and without it.
sdk_csc=$(grep -m1 -oE '[^ ]*/Roslyn/bincore/csc ' "$work/build.log" | sed 's/ $//')
grep -m1 -E '/Roslyn/bincore/csc ' "$work/build.log" | sed -E 's#^ *[^ ]*/Roslyn/bincore/csc ##' \
  | sed -E "s#/out:[^ ]+#/out:$work/out/a.dll#; s#/refout:[^ ]+#/refout:$work/out/ref.dll#" > "$work/with.rsp"
mkdir -p "$work/out" "$work/generated"
cd "$(dirname "$project")"
dotnet "$sdk_csc.dll" @"$work/with.rsp" -generatedfilesout:"$work/generated" >/dev/null 2>&1 || true
sed -E 's# /analyzer:[^ ]*ModelGen\.[A-Za-z]+\.dll##g' "$work/with.rsp" > "$work/without.rsp"
grep -m1 -E '/Roslyn/bincore/csc ' "$work/build-il.log" | sed -E 's#^ *[^ ]*/Roslyn/bincore/csc ##' \
  | sed -E "s#/out:[^ ]+#/out:$work/out/a.dll#; s#/refout:[^ ]+#/refout:$work/out/ref.dll#" > "$work/il.rsp"
variants="with il without"
if cmp -s "$work/with.rsp" "$work/il.rsp"; then
  mg_say "the build loaded no ReadyToRun copy of ModelGen (eng/ReadyToRun.targets): 'with' and 'IL' are the same"
  variants="with without"
fi
find "$work/generated" -path '*ModelGen.Generators*' -name '*.cs' -printf ' "%p"' >> "$work/without.rsp"
# Each variant once, untimed: it must compile (a failing run would time nothing), and the files are then in the page cache.
for variant in $variants; do
  dotnet "$sdk_csc.dll" @"$work/$variant.rsp" > "$work/$variant.out" 2>&1 || { cat "$work/$variant.out" >&2; mg_die "the '$variant' compile failed"; }
done
TIMEFORMAT='%U %S'
for i in $(seq "$runs"); do
  for variant in $variants; do
    { time dotnet "$sdk_csc.dll" @"$work/$variant.rsp" >/dev/null 2>&1; } 2>> "$work/$variant.cpu" || true
  done
done
mg_require_idle after
for variant in $variants; do
  DOTNET_JitStdOutFile="$work/$variant.jit" DOTNET_JitDisasmSummary=1 dotnet "$sdk_csc.dll" @"$work/$variant.rsp" >/dev/null 2>&1 || true
  printf '%s' "$(grep -c 'JIT compiled' "$work/$variant.jit" || true)" > "$work/$variant.jitted"
  # First compiles (Tier0, Instrumented Tier0, FullOpts) are the same from run to run; the rest are re-compiles of hot methods
  # at tier 1 (ReadyToRun code included) on a background thread, whose number depends on timing and load.
  printf '%s' "$(grep -cE 'JIT compiled .* \[(Instrumented )?Tier0|JIT compiled .* \[FullOpts|JIT compiled .* \[Tier-0 switched' "$work/$variant.jit" || true)" > "$work/$variant.first"
done
printf '%s\n' "$reported"
median() { awk '{ print $1 + $2 }' "$1" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
with=$(median "$work/with.cpu")
without=$(median "$work/without.cpu")
awk -v w="$with" -v wo="$without" -v n="$runs" -v jw="$(cat "$work/with.jitted")" -v jwo="$(cat "$work/without.jitted")" \
    -v fw="$(cat "$work/with.first")" -v fwo="$(cat "$work/without.first")" 'BEGIN {
  printf "Compiler CPU time (user+sys, median of %d): with ModelGen %.3f s, without (generated files as sources) %.3f s\n", n, w, wo
  printf "ModelGen adds %.3f s: %.1f %% of the compile (methods JIT-compiled: %d with, %d without; first compiles %d with, %d without, the rest tier-1 re-compiles)\n", w - wo, 100 * (w - wo) / w, jw, jwo, fw, fwo }'
if [ -f "$work/il.cpu" ]; then
  il=$(median "$work/il.cpu")
  awk -v w="$il" -v wo="$without" -v ji="$(cat "$work/il.jitted")" 'BEGIN {
    printf "With ModelGen as plain IL (no ReadyToRun): %.3f s; it adds %.3f s: %.1f %% of the compile (methods JIT-compiled: %d)\n", w, w - wo, 100 * (w - wo) / w, ji }'
fi
