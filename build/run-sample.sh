#!/usr/bin/env bash
# Packs Maru.Sdk and Maru.Runtime, then builds and runs the samples against the fresh packages:
# samples/Hello (plain long functions), samples/Interop (strings, spans, pointers, callbacks, C
# externs) and samples/HotReload (Maru.Runtime: a file recompiled and swapped in while in use, in
# its --demo mode).
# Extra arguments go to both 'dotnet run' commands (e.g. -c Release).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
"$root/build/pack.sh"
# The samples use a private package cache (samples/nuget.config); the version does not change
# between packs, so drop the cached copy or NuGet would keep using the old one.
rm -rf "$root/artifacts/samples-packages/maru.sdk" "$root/artifacts/samples-packages/maru.runtime"
cd "$root/samples"
for sample in Hello Interop; do
  echo "== samples/$sample"
  dotnet run --project "$root/samples/$sample/$sample.csproj" "$@"
done
echo "== samples/HotReload"
dotnet run --project "$root/samples/HotReload/HotReload.csproj" "$@" -- --demo
