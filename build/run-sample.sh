#!/usr/bin/env bash
# Packs Maru.Sdk and Maru.Runtime, then builds and runs the samples against the fresh packages:
# samples/Hello (plain long functions), samples/Interop (strings, spans, pointers, callbacks, C
# externs) and samples/HotReload (Maru.Runtime: a file recompiled and swapped in while in use, in
# its --demo mode). Extra arguments go to every 'dotnet run' command (e.g. -c Release).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
"$root/build/pack.sh"
# Pin the samples to the version just packed (samples/global.json is written here, not committed:
# the version changes with every commit).
version="$(cat "$root/artifacts/packages/Maru.Sdk.version")"
printf '{\n  "msbuild-sdks": {\n    "Maru.Sdk": "%s"\n  }\n}\n' "$version" > "$root/samples/global.json"
cd "$root/samples"
for sample in Hello Interop; do
  echo "== samples/$sample"
  dotnet run --project "$root/samples/$sample/$sample.csproj" "$@"
done
echo "== samples/HotReload"
dotnet run --project "$root/samples/HotReload/HotReload.csproj" -p:MaruRuntimeVersion="$version" "$@" -- --demo
