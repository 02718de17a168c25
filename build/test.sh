#!/usr/bin/env bash
# Builds the solution and runs every test project (unit tests, then the end-to-end tests that
# pack Maru.Sdk and build real projects with it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet test "$root/Maru.Build.sln" "$@"
