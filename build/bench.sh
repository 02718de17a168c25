#!/usr/bin/env bash
# The benchmark suite, in one command (docs/performance.md): builds the harness and the compiler
# in Release, then the harness compiles every program with Maru.Sdk (O1 and O0), gcc -O2,
# gcc -O0 and tcc, runs them and the C# twins side by side, checks that all results agree, and
# prints the run-time and compile-time tables, then source-to-first-call through Maru.Runtime
# against libtcc (docs/performance.md). maruc is timed as published NativeAOT. Options are passed to the harness
# (build/bench.sh --help): e.g. --only fib,sort --runs 11.
# With a local copy of maru-2.4 in $MARU24_DIR (docs/testing.md, "eval.l"), the ported eval.l is
# also timed as a compilation (--compile-file), and build/evall-check.sh --bench then times the
# compiled eval.l against maru-2.4's C evaluator on the self-hosting check. Without it, skipped.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

missing=()
for tool in gcc tcc; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -e /usr/include/libtcc.h ] || missing+=("libtcc (libtcc-dev)")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench.sh: ${missing[*]} not found; the benchmark compares against gcc, tcc and libtcc: apt-get install gcc tcc libtcc-dev" >&2
  exit 1
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "bench.sh: runs on linux-x64 only (the one target Maru.Sdk supports)" >&2
  exit 1
fi

# maruc as users install it: published ahead of time (NativeAOT). The compile-time table times it.
export MARU_BENCH_MARUC="$("$root/build/publish-maruc.sh" linux-x64)"

# The cold row of the run-time table times what a consumer of the package gets: Maru.Runtime packed
# as shipped (with the native compiler library: build/pack.sh) and a small program built against it
# (tests/Maru.Benchmarks.ColdStart), started fresh for every run.
case " $* " in
  *" --skip-latency "* | *" --scaling-only "* | *" --arm64-only "*) ;;
  *)
    "$root/build/pack.sh" >&2
    coldstart="$root/artifacts/bench-coldstart"
    rm -rf "$coldstart"
    dotnet build "$root/tests/Maru.Benchmarks.ColdStart/ColdStart.csproj" -c Release -o "$coldstart" -nologo -v quiet -clp:ErrorsOnly \
      -p:MaruRuntimeVersion="$(cat "$root/artifacts/packages/Maru.Sdk.version")" >&2
    export MARU_BENCH_COLDSTART="$coldstart/ColdStart.dll"
    ;;
esac

project="$root/tests/Maru.Benchmarks/Maru.Benchmarks.csproj"
dotnet build "$project" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
evall=()
if [ -n "${MARU24_DIR:-}" ] && [ -f "$MARU24_DIR/eval.l" ]; then
  evall_dir="$(mktemp -d "${TMPDIR:-/tmp}/evall-bench.XXXXXX")"
  trap 'rm -rf "$evall_dir"' EXIT
  "$root/build/evall-port.sh" "$MARU24_DIR" "$evall_dir/eval64.l"
  evall=(--compile-file "$evall_dir/eval64.l")
fi
dotnet "$root/tests/Maru.Benchmarks/bin/Release/net10.0/Maru.Benchmarks.dll" --out "$root/artifacts/bench" "${evall[@]}" "$@"
if [ "${#evall[@]}" -gt 0 ]; then
  "$root/build/evall-check.sh" --bench "$MARU24_DIR"
else
  echo "eval.l: skipped (set MARU24_DIR to a local maru-2.4 folder to time it: docs/testing.md)"
fi
