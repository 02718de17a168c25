#!/usr/bin/env bash
# The eval.l self-hosting check (docs/testing.md, "eval.l"): maru-2.4's evaluator, written in Maru,
# ported to 64-bit words (build/evall-port.sh), compiled by Maru.Sdk and run with
# `-O boot.l emit.l eval.l` must print exactly the IA-32 assembly that maru-2.4's C interpreter
# (gcc -O3) prints for `./eval -O emit.l eval.l`.
#
#   build/evall-check.sh [--bench [runs]] [-O0] [maru-2.4 folder]
#
# The folder is a local copy of nnunley/maru's maru-2.4/ (branch master); it defaults to
# $MARU24_DIR. Without one the check is skipped (exit 0): the sources are not ours and are never
# in this repository, so CI has none. Everything is built in a temporary folder outside the
# repository. --bench also times both evaluators doing that work (median of `runs`, default 5)
# and prints the ratio; build/bench.sh calls it so.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

bench=0 runs=5 level=-O1 maru="${MARU24_DIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) bench=1; if [[ "${2:-}" =~ ^[0-9]+$ ]]; then runs="$2"; shift; fi ;;
    -O0|-O1) level="$1" ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) maru="$1" ;;
  esac
  shift
done
if [ -z "$maru" ] || [ ! -f "$maru/eval.l" ] || [ ! -f "$maru/eval.c" ]; then
  echo "evall-check.sh: skipped: no maru-2.4 folder (set MARU24_DIR or pass it; docs/testing.md says how to fetch it)"
  exit 0
fi
maru="$(cd "$maru" && pwd)"
for tool in gcc cmp; do
  command -v "$tool" >/dev/null 2>&1 || { echo "evall-check.sh: $tool not found" >&2; exit 1; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/evall-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$maru"/*.l "$maru"/*.c "$maru"/*.h "$work/"
cd "$work"

echo "== maru-2.4's C interpreter (gcc -O3) and its output for: ./eval -O emit.l eval.l"
gcc -O3 -fomit-frame-pointer -DNDEBUG -w -o mkosdefs mkosdefs.c
./mkosdefs > osdefs.k
gcc -O3 -fomit-frame-pointer -DNDEBUG -w -o eval eval.c -lm -ldl
./eval -O emit.l eval.l > reference.s 2> reference.err
echo "   $(wc -l < reference.s) lines of IA-32 assembly"

echo "== eval.l ported to 64-bit words, compiled by Maru.Sdk ($level)"
"$root/build/evall-port.sh" "$maru" eval64.l
dotnet build "$root/src/Maru.Cli/Maru.Cli.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
maruc="$(ls "$root"/src/Maru.Cli/bin/Release/*/maruc | head -1)"
"$maruc" build "$level" -o libeval64.so eval64.l

# A small C loader calls the library's main(argc, argv) so that both sides are plain processes.
cat > loader.c <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  void *library = dlopen(argv[1], RTLD_NOW);
  if (!library) { fprintf(stderr, "%s\n", dlerror()); return 2; }
  long (*entry)(long, char **) = (long (*)(long, char **))dlsym(library, "main");
  if (!entry) { fprintf(stderr, "no main in %s\n", argv[1]); return 2; }
  return (int)entry(argc - 1, argv + 1);
}
EOF
gcc -O2 -o loader loader.c -ldl

# run_check HOW COMMAND...: the compiled evaluator must print exactly the reference.
run_check() {
  local how="$1"; shift
  echo "== the compiled evaluator, run by $how: -O boot.l emit.l eval.l"
  local status=0
  "$@" -O boot.l emit.l eval.l > compiled.s 2> compiled.err || status=$?
  if [ "$status" != 0 ]; then
    echo "evall-check.sh: FAILED: the compiled evaluator exited with $status; its stderr ends:" >&2
    tail -20 compiled.err >&2
    exit 1
  fi
  if ! cmp -s reference.s compiled.s; then
    echo "evall-check.sh: FAILED: the outputs differ (first differences below)" >&2
    diff reference.s compiled.s | head -20 >&2
    exit 1
  fi
  echo "   identical: $(wc -l < compiled.s) lines, $(wc -c < compiled.s) bytes"
}
run_check "a C loader calling main(argc, argv)" ./loader ./libeval64.so
# maruc run is the product's own loader; it compiles at its default level, O1.
[ "$level" = -O0 ] || run_check "maruc run" "$maruc" run eval64.l --

[ "$bench" = 1 ] || exit 0

# time_runs NAME COMMAND...: prints the median wall and CPU (user + sys) seconds of $runs runs.
time_runs() {
  local name="$1"; shift
  local walls=() cpus=() i start end me="$BASHPID"   # this shell: the runs are its waited-for children
  for ((i = 0; i < runs; i++)); do
    local before after
    before="$(awk '{print $14 + $15 + $16 + $17}' "/proc/$me/stat")"
    start="$(date +%s.%N)"
    "$@" > run.s 2> /dev/null
    end="$(date +%s.%N)"
    after="$(awk '{print $14 + $15 + $16 + $17}' "/proc/$me/stat")"
    cmp -s reference.s run.s || { echo "evall-check.sh: $name printed something else" >&2; exit 1; }
    walls+=("$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')")
    cpus+=("$(awk -v a="$before" -v b="$after" -v hz="$(getconf CLK_TCK)" 'BEGIN {print (b - a) / hz}')")
  done
  local wall cpu
  wall="$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  cpu="$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  printf '%s %.3f %.3f\n' "$name" "$wall" "$cpu"
}

echo
echo "## eval.l self-hosting check: compiled eval.l ($level) against maru-2.4's C eval (gcc -O3), median of $runs"
echo "load average at start: $(cat /proc/loadavg)"
c_line="$(time_runs c ./eval -O emit.l eval.l)"
m_line="$(time_runs maru ./loader ./libeval64.so -O boot.l emit.l eval.l)"
read -r _ c_wall c_cpu <<< "$c_line"
read -r _ m_wall m_cpu <<< "$m_line"
echo
echo "| evaluator | wall s | CPU s (user+sys) |"
echo "|---|---:|---:|"
printf '| maru-2.4 eval.c, gcc -O3 | %.3f | %.3f |\n' "$c_wall" "$c_cpu"
printf '| eval.l, Maru.Sdk %s | %.3f | %.3f |\n' "$level" "$m_wall" "$m_cpu"
printf '| ratio eval.l / eval.c | %.2fx | %.2fx |\n' "$(awk -v a="$m_wall" -v b="$c_wall" 'BEGIN {print a / b}')" "$(awk -v a="$m_cpu" -v b="$c_cpu" 'BEGIN {print a / b}')"
echo
echo "goal: eval.l / eval.c <= 1.50x"
