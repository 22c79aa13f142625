#!/usr/bin/env bash
# The runner the package ships (eng/modelgen-run.sh, packed as tools/linux/modelgen-run.sh) builds and runs a
# TorchSharp project that lives outside this repository and outside /tmp, and TorchSharp's native library loads there.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
work=$(mktemp -d "$HOME/modelgen-runner-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/My Model"
cat >"$work/My Model/MyModel.csproj" <<'PROJECT'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
    <NoWarn>$(NoWarn);NU1603</NoWarn>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
  </ItemGroup>
</Project>
PROJECT
cat >"$work/My Model/Program.cs" <<'PROGRAM'
using static TorchSharp.torch;
var product = ones(3, 4).matmul(ones(4, 2)).sum().item<float>();
System.IO.File.WriteAllText(args[0], $"{product} {System.IO.Directory.GetCurrentDirectory()}");
PROGRAM
# An empty Directory.Build.props stops MSBuild from walking up into folders that are not the project's.
printf '<Project />\n' >"$work/Directory.Build.props"
printf '<Project />\n' >"$work/Directory.Packages.props"

cd "$work"
bash "$repo/eng/modelgen-run.sh" "My Model/MyModel.csproj" "$work/result.txt" >"$work/log.txt" 2>&1 || {
  cat "$work/log.txt" >&2
  printf 'runner test: modelgen-run.sh failed\n' >&2
  exit 1
}
result=$(cat "$work/result.txt")
[ "$result" = "24 $work" ] || {
  cat "$work/log.txt" >&2
  printf "runner test: expected '24 %s', got '%s'\n" "$work" "$result" >&2
  exit 1
}
printf 'runner test: a project at %s built and ran where TorchSharp loads (%s)\n' "$work" \
  "$(awk 'match($0, /running [^:]*/) && !found { found = substr($0, RSTART, RLENGTH) } END { print found }' "$work/log.txt")"
