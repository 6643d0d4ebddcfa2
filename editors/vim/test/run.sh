#!/usr/bin/env bash
# Vim syntax test: opens every test file (test/cases/*.netpol and the repository's examples)
# in a headless Vim with editors/vim on the runtimepath, records the syntax group of every
# column, and compares that with test/expected/NAME.syn.
#   editors/vim/test/run.sh            compare
#   editors/vim/test/run.sh --update   rewrite the expected files (review the diff)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
plugin="$(dirname "$here")"
repo="$(cd "$plugin/../.." && pwd)"
update=0
[ "${1:-}" = "--update" ] && update=1

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=0
count=0
for file in "$here"/cases/*.netpol "$repo"/examples/*.netpol; do
  name="$(basename "$file" .netpol)"
  out="$tmp/$name.syn"
  NETPOL_SYN_OUT="$out" vim -Es -N -u NONE -i NONE \
    --cmd "set runtimepath^=$plugin" \
    -c 'filetype plugin on' -c 'syntax on' \
    -c "edit $file" -c "source $here/dump.vim" -c 'qall!' </dev/null || true
  if [ ! -s "$out" ]; then
    echo "FAIL $name: vim wrote nothing"; failed=$((failed + 1)); continue
  fi
  count=$((count + 1))
  expected="$here/expected/$name.syn"
  if [ "$update" = 1 ]; then
    cp "$out" "$expected"
  elif ! diff -u "$expected" "$out" >"$tmp/diff" 2>&1; then
    echo "FAIL $name: syntax groups differ from test/expected/$name.syn"
    head -n 40 "$tmp/diff"
    failed=$((failed + 1))
  fi
done
# An expected file whose test file is gone is stale.
for expected in "$here"/expected/*.syn; do
  name="$(basename "$expected" .syn)"
  if [ ! -e "$here/cases/$name.netpol" ] && [ ! -e "$repo/examples/$name.netpol" ]; then
    if [ "$update" = 1 ]; then rm "$expected"; else echo "FAIL $name: no test file for $expected"; failed=$((failed + 1)); fi
  fi
done
if [ "$update" = 1 ]; then
  echo "vim: wrote $count expected files"
else
  echo "vim: $((count - failed)) passed, $failed failed"
fi
[ "$failed" = 0 ]
