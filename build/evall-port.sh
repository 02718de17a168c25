#!/usr/bin/env bash
# Ports maru-2.4's eval.l (Piumarta's evaluator in the compilable subset) from IA-32 to 64-bit words
# for Maru.Sdk: build/evall-port.sh <maru-2.4 folder> <output.l>. The source is never part of this
# repository; fetch nnunley/maru (branch master) first (docs/testing.md, "eval.l").
#
# Every edit is a literal replacement that must match exactly as often as expected, so a different
# eval.l fails here instead of producing a half-ported file.
#  - The word-size constants issue 12 lists: 4-byte strides and sizes become 8, the allocation
#    rounding (& -4 (+ 3 size)) becomes (& -8 (+ 7 size)).
#  - One word-size constant the list misses: gc_mark_and_trace turns an object's byte size into a
#    word count with (>> size 2); with 8-byte words that is (>> size 3), else the collector scans
#    past every object into the next block header.
#  - Three calls that pass fewer arguments than the function takes. emit.l's IA-32 code passes
#    arguments in stack slots it reuses, so the missing argument is whatever the previous call left
#    there: (read_quote s_unquote) reads `,x` with the stream that ungetc was just given, and
#    (do_print elt) prints an array element or a variable's name with a stale `storing` flag. Maru.Sdk rejects such calls
#    (MARU0202, as maru-2.4's interpreter does); the port passes the intended argument.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 <maru-2.4 folder> <output.l>" >&2
  exit 2
fi
source_file="$1/eval.l"
output="$2"
[ -f "$source_file" ] || { echo "evall-port.sh: $source_file not found" >&2; exit 1; }

text="$(cat "$source_file"; echo x)"
text="${text%x}"

# replace COUNT FROM TO: replaces every literal FROM, which must occur exactly COUNT times.
replace() {
  local count="$1" from="$2" to="$3" rest="$text" found=0
  while [[ "$rest" == *"$from"* ]]; do
    rest="${rest#*"$from"}"
    found=$((found + 1))
  done
  if [ "$found" -ne "$count" ]; then
    echo "evall-port.sh: expected $count of '$from' in $source_file, found $found" >&2
    exit 1
  fi
  text="${text//"$from"/"$to"}"
}

replace 7 '(* 4 '                     '(* 8 '
replace 1 '(& -4 (+ 3 size))'         '(& -8 (+ 7 size))'
replace 1 '(+ 4 oops)'                '(+ 8 oops)'
replace 1 '(* size 4)'                '(* size 8)'
replace 1 '(* (get_long size) 4)'     '(* (get_long size) 8)'
replace 1 '(/ (gc_size elts) 4)'      '(/ (gc_size elts) 8)'
replace 1 '(>> (<header>-size ptr) 2)' '(>> (<header>-size ptr) 3)'
replace 1 '(read_quote s_unquote)'    '(read_quote s_unquote stream)'
replace 1 '(do_print (k_array_at obj i))' '(do_print (k_array_at obj i) storing)'
replace 1 '(do_print (get <variable> name obj))' '(do_print (get <variable> name obj) storing)'

printf '%s' "$text" > "$output"
