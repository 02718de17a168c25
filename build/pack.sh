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
# Maru.Runtime carries the compiler as a NativeAOT shared library for this machine's RID (the first
# compilation of a process then needs no JIT: docs/runtime.md#cost). NativeAOT needs clang or gcc and
# zlib; without them the package is packed without it and uses the managed compiler.
native=()
rm -rf "$root/artifacts/native"
if "$root/build/publish-native-compiler.sh" >/dev/null; then
  native=(-p:MaruNativeCompilerDirectory="$root/artifacts/native")
else
  echo "pack.sh: warning: the native compiler library could not be published (NativeAOT needs clang or gcc and zlib1g-dev); Maru.Runtime is packed with the managed compiler only" >&2
fi
dotnet pack "$project" -c "$configuration" -o "$root/artifacts/packages" -nologo -p:MaruPackageVersion="$version" "$@"
dotnet pack "$root/src/Maru.Runtime/Maru.Runtime.csproj" -c "$configuration" -o "$root/artifacts/packages" -nologo -p:MaruPackageVersion="$version" "${native[@]}" "$@"
dotnet pack "$root/src/Maru.Cli/Maru.Cli.csproj" -c "$configuration" -o "$root/artifacts/packages" -nologo -p:MaruPackageVersion="$version" "$@"
echo "$version" > "$root/artifacts/packages/Maru.Sdk.version"
echo "Packed Maru.Sdk, Maru.Runtime and maruc $version"
