#!/usr/bin/env bash
# Packs Maru.Sdk, then builds and runs the samples against the fresh package: samples/Hello
# (plain long functions) and samples/Interop (strings, spans, pointers, callbacks, C externs).
# Extra arguments go to both 'dotnet run' commands (e.g. -c Release).
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
