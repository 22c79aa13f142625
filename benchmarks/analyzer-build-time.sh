#!/usr/bin/env bash
# Analyzer time inside a real `dotnet build` of the 100-layer model of AnalyzerBenchmarks, as the compiler itself reports it
# (-p:ReportAnalyzer=true), next to the time of the compiler task that ran them. Usage: benchmarks/analyzer-build-time.sh
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=eng/common.sh
. "$repo/eng/common.sh"
mg_report_failures
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet build -c Release "$repo/benchmarks/ModelGen.Benchmarks" -v:q -nologo >/dev/null
dotnet "$repo/benchmarks/ModelGen.Benchmarks/bin/Release/net10.0/ModelGen.Benchmarks.dll" write-analyzer-model "$work"
cat > "$work/Deep.csproj" <<PROJ
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
dotnet restore "$work/Deep.csproj" -v:q -nologo >/dev/null
# Build once to warm the referenced projects, then time a rebuild of the model project alone, on an idle machine only.
dotnet build "$work/Deep.csproj" -c Release -v:q -nologo >/dev/null
mg_require_idle before
dotnet build "$work/Deep.csproj" -c Release --no-dependencies --no-incremental -nologo -v:d -p:ReportAnalyzer=true -clp:PerformanceSummary > "$work/build.log"
mg_require_idle after
grep -E "Total analyzer execution time|Total generator execution time|ModelGen\.(Analyzers|Generators)\.[A-Za-z]+ *\(|^ +[0-9]+ ms +Csc +[0-9]+ calls" "$work/build.log" | sed 's/^ *//' | sort -u
