#!/usr/bin/env bash
# Packs the Maru.Sdk MSBuild SDK into artifacts/packages (the samples' local feed).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
configuration="${CONFIGURATION:-Release}"
dotnet pack "$root/sdk/Maru.Sdk/Maru.Sdk.csproj" -c "$configuration" -o "$root/artifacts/packages" -nologo "$@"
