#!/usr/bin/env bash
# Publishes maruc ahead of time (NativeAOT) for this machine, or for the RID given as the first
# argument, into artifacts/maruc/<rid>/maruc: one native executable, no .NET runtime needed to
# run it. Needs the NativeAOT prerequisites (clang or gcc, zlib); the SDK picks the ILCompiler
# package. Extra arguments go to dotnet publish. Then: artifacts/maruc/<rid>/maruc --help
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
rid="${1:-$("$root/build/host-rid.sh")}"
if [ -z "$rid" ]; then echo "publish-maruc.sh: name the runtime identifier: build/publish-maruc.sh linux-x64" >&2; exit 2; fi
[ $# -gt 0 ] && shift
dotnet publish "$root/src/Maru.Cli/Maru.Cli.csproj" -c Release -r "$rid" -p:PublishAot=true \
  -o "$root/artifacts/maruc/$rid" -nologo -v quiet -clp:ErrorsOnly "$@" >&2
echo "$root/artifacts/maruc/$rid/maruc"
