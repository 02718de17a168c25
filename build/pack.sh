#!/usr/bin/env bash
# Packs into artifacts/packages (the samples' local feed): the Maru.Sdk MSBuild SDK, the
# Maru.Runtime library (compile and load Maru at run time) and the maruc .NET tool, all under one
# version. The version changes with every commit and every uncommitted change
# (build/Versioning.targets); it is printed and written to artifacts/packages/Maru.Sdk.version for
# scripts that pin it (run-sample.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
configuration="${CONFIGURATION:-Release}"
project="$root/sdk/Maru.Sdk/Maru.Sdk.csproj"
# Computed once and passed down, so every project in the pack agrees even if files change meanwhile.
version="$(dotnet msbuild "$project" -nologo -t:MaruGetVersion -getProperty:MaruPackageVersion -p:Configuration="$configuration")"
for packed in "$project" "$root/src/Maru.Runtime/Maru.Runtime.csproj" "$root/src/Maru.Cli/Maru.Cli.csproj"; do
  dotnet pack "$packed" -c "$configuration" -o "$root/artifacts/packages" -nologo -p:MaruPackageVersion="$version" "$@"
done
echo "$version" > "$root/artifacts/packages/Maru.Sdk.version"
echo "Packed Maru.Sdk, Maru.Runtime and maruc $version"
