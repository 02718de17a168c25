#!/usr/bin/env bash
# Hashes what maruc writes for every program we have (the samples, the conformance programs and
# the benchmark programs) at -O0 and -O1, one "sha256  level  program" line each, so a refactoring
# that must not change the generated code can be checked before/after:
#
#   build/compare-output.sh > /tmp/before.txt        # on the old commit
#   build/compare-output.sh --against /tmp/before.txt  # on the new one: exits 1 on any difference
#
# Options: --target <rid> (default linux-x64), --listing (hash the --listing text too),
# --keep <dir> (keep the outputs there instead of a temporary folder).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

target=linux-x64
against=""
listing=0
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="$2"; shift 2 ;;
    --against) against="$2"; shift 2 ;;
    --listing) listing=1; shift ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "usage: $0 [--target rid] [--listing] [--keep dir] [--against hashes.txt]" >&2; exit 2 ;;
  esac
done

if [ -n "$keep" ]; then out="$keep"; mkdir -p "$out"; else out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT; fi

# One build of maruc, then the dll is run directly (no dotnet run per program).
dotnet build "$root/src/Maru.Cli/Maru.Cli.csproj" -c Release -o "$out/maruc" -v q -nologo >&2
maruc=(dotnet "$out/maruc/maruc.dll")

# The compilation's files in order: a conformance program's ";; files:" header (relative to
# Programs/, "." is the program itself), otherwise the program alone.
files_of() {
  local program="$1" dir line
  dir="$(dirname "$program")"
  line="$(grep -m1 -E '^;; files:' "$program" || true)"
  if [ -z "$line" ]; then echo "$program"; return; fi
  for f in ${line#;; files:}; do
    if [ "$f" = "." ]; then echo "$program"; else echo "$dir/$f"; fi
  done
}

programs=()
while IFS= read -r p; do programs+=("$p"); done < <(
  cd "$root"
  { find samples -name '*.l' -not -path '*/bin/*' -not -path '*/obj/*';
    ls tests/Maru.Compiler.Tests/Conformance/Programs/*.l;
    ls tests/Maru.Benchmarks/programs/*/*.l; } | LC_ALL=C sort)

result="$out/hashes.txt"
: > "$result"
for program in "${programs[@]}"; do
  name="${program//\//_}"
  mapfile -t files < <(cd "$root" && files_of "$program")
  for level in O0 O1; do
    lib="$out/$name.$level.so"
    args=(build --target "$target" "-$level" -o "$lib")
    [ "$listing" = 1 ] && args+=(--listing "$out/$name.$level.lst")
    if (cd "$root" && "${maruc[@]}" "${args[@]}" "${files[@]}" > "$out/$name.$level.log" 2>&1); then
      echo "$(sha256sum < "$lib" | cut -c1-64)  $level  $program" >> "$result"
      [ "$listing" = 1 ] && echo "$(sha256sum < "$out/$name.$level.lst" | cut -c1-64)  $level.listing  $program" >> "$result"
    else
      # A program that does not compile (a multi-file helper, a target without a backend) is
      # recorded by its diagnostics, which must not change either.
      echo "$(sed "s|$out/||g" "$out/$name.$level.log" | sha256sum | cut -c1-64)  $level.error  $program" >> "$result"
    fi
  done
done

if [ -n "$against" ]; then
  if diff -u "$against" "$result"; then
    echo "identical: $(wc -l < "$result") outputs" >&2
  else
    echo "DIFFERENT outputs (see diff above)" >&2
    exit 1
  fi
else
  cat "$result"
fi
