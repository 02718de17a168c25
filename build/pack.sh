#!/usr/bin/env bash
# Packs into artifacts/packages (the samples' local feed): the Maru.Sdk MSBuild SDK, the
# Maru.Runtime library (compile and load Maru at run time) and the maruc .NET tool.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
configuration="${CONFIGURATION:-Release}"
dotnet pack "$root/sdk/Maru.Sdk/Maru.Sdk.csproj" -c "$configuration" -o "$root/artifacts/packages" -nologo "$@"
dotnet pack "$root/src/Maru.Runtime/Maru.Runtime.csproj" -c "$configuration" -o "$root/artifacts/packages" -nologo "$@"
dotnet pack "$root/src/Maru.Cli/Maru.Cli.csproj" -c "$configuration" -o "$root/artifacts/packages" -nologo "$@"
