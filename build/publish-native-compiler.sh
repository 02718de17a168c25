#!/usr/bin/env bash
# Publishes the compiler as a native shared library (NativeAOT, src/Maru.Compiler.Native) for this
# machine, or for the RID given as the first argument, into artifacts/native/<rid>/: the
# Maru.Compiler.Native.so (.dylib) that the Maru.Runtime package carries under
# runtimes/<rid>/native/ (build/pack.sh) so that a process's first compilation needs no JIT
# (docs/runtime.md#cost). Needs the NativeAOT prerequisites (clang or gcc, zlib). NativeAOT does
# not cross-compile between operating systems: a Linux machine builds the Linux RIDs. Extra
# arguments go to dotnet publish. Prints the library's path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
rid="${1:-$("$root/build/host-rid.sh")}"
if [ -z "$rid" ]; then echo "publish-native-compiler.sh: name the runtime identifier: build/publish-native-compiler.sh linux-x64" >&2; exit 2; fi
[ $# -gt 0 ] && shift
case "$rid" in osx-*) extension=dylib ;; *) extension=so ;; esac
out="$root/artifacts/native/$rid"
dotnet publish "$root/src/Maru.Compiler.Native/Maru.Compiler.Native.csproj" -c Release -r "$rid" -p:PublishAot=true \
  -o "$out" -nologo -v quiet -clp:ErrorsOnly "$@" >&2
# Only the library is shipped (the publish folder also gets its symbols).
rm -f "$out"/*.dbg "$out"/*.pdb "$out"/*.xml
echo "$out/Maru.Compiler.Native.$extension"
