#!/bin/sh
# Seeds the fuzz corpora with every example and every snippet of the error pages, one file each.
# Run from the repository root: sh fuzz/seed.sh
set -eu
for target in pipeline fmt; do
  dir=fuzz/corpus/$target
  mkdir -p "$dir"
  for f in examples/*.netpol; do
    cp "$f" "$dir/seed-example-$(basename "$f" .netpol)"
  done
  for page in docs/errors/[EW]*.md; do
    awk -v out="$dir/seed-doc-$(basename "$page" .md)" '
      /^```netpol$/ { n++; inside = 1; file = out "-" n; printf "" > file; next }
      /^```$/ && inside { inside = 0; close(file); next }
      inside { print > file }
    ' "$page"
  done
done
