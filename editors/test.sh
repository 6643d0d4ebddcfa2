#!/usr/bin/env bash
# The editor tests that need outside tools. `cargo test` covers the rest (tests/editors.rs).
#
#   editors/test.sh            check everything
#   editors/test.sh --update   rewrite the recorded results (TextMate snapshots, Vim expected
#                              files, tree-sitter parser and corpus trees); review the diff
#
# What it runs:
#   VS Code      npm ci; tsc --noEmit; node --test (manifest, language configuration,
#                snippets); vscode-tmgrammar-test (test/*.test.netpol);
#                vscode-tmgrammar-snap over every example (snapshots in vscode/test/snap/)
#   Vim          a headless vim records the syntax group of every column (vim/test/run.sh)
#   tree-sitter  the committed parser equals what `tree-sitter generate` makes of grammar.js;
#                `tree-sitter test` (corpus, one test per example, highlight tests); every
#                example parses without ERROR or MISSING nodes
#
# Missing tools are installed: the npm packages by `npm ci`, vim from Debian's packages (as
# root), and the tree-sitter CLI by `cargo install` into $NETPOL_TOOLS (default
# ~/.cache/netpol-tools), only when the pinned version is not there yet. That build takes a few
# minutes; it runs in the background while the VS Code and Vim tests run. NETPOL_TOOLS_JOBS
# sets its cargo jobs (default: cargo's own).
set -euo pipefail
editors="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$editors")"
update=0
case "${1:-}" in
  --update) update=1 ;;
  "") ;;
  *) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

TREE_SITTER_VERSION=0.25.10
tools="${NETPOL_TOOLS:-$HOME/.cache/netpol-tools}"
tree_sitter="$tools/bin/tree-sitter"
start=$SECONDS
passed=0
tmp="$(mktemp -d)"
install_pid=""
cleanup() {
  if [ -n "$install_pid" ]; then kill "$install_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

step() { echo "== editors: $* ($((SECONDS - start)) s)"; }
ok() { passed=$((passed + 1)); }

# ---- tools ---------------------------------------------------------------------------------

have_tree_sitter() {
  [ -x "$tree_sitter" ] && "$tree_sitter" --version 2>/dev/null | grep -q "^tree-sitter $TREE_SITTER_VERSION\b"
}

if ! have_tree_sitter; then
  step "installing tree-sitter-cli $TREE_SITTER_VERSION into $tools (in the background)"
  mkdir -p "$tools"
  (
    jobs=()
    [ -n "${NETPOL_TOOLS_JOBS:-}" ] && jobs=(--jobs "$NETPOL_TOOLS_JOBS")
    build="$(mktemp -d)"
    cargo install --locked --force "${jobs[@]}" --root "$tools" --target-dir "$build" \
      tree-sitter-cli --version "$TREE_SITTER_VERSION"
    status=$?
    rm -rf "$build"
    exit $status
  ) >"$tmp/tree-sitter-install.log" 2>&1 &
  install_pid=$!
fi

if ! vim --version 2>/dev/null | grep -q '+syntax'; then
  step "installing vim"
  if [ "$(id -u)" != 0 ]; then
    echo "vim with +syntax is needed: install Debian's vim package" >&2; exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq vim >/dev/null
fi

# ---- VS Code ---------------------------------------------------------------------------------

cd "$editors/vscode"
step "npm ci"
npm ci --no-audit --no-fund --loglevel=error
bin="$editors/vscode/node_modules/.bin"

step "tsc --noEmit"
"$bin/tsc" --noEmit -p .
ok

step "manifest, language configuration and snippets"
node --test test/
ok

step "TextMate scope assertions"
"$bin/vscode-tmgrammar-test" --compact -g syntaxes/netpol.tmLanguage.json "test/*.test.netpol"
ok

step "TextMate snapshots of the examples"
# The snapshot tool writes NAME.snap beside each file, so it runs on copies of the examples.
mkdir -p "$tmp/snap"
cp "$repo"/examples/*.netpol "$tmp/snap/"
missing=0
for example in "$repo"/examples/*.netpol; do
  name="$(basename "$example")"
  if [ -e "test/snap/$name.snap" ]; then
    cp "test/snap/$name.snap" "$tmp/snap/"
  elif [ "$update" = 0 ]; then
    echo "missing snapshot: editors/vscode/test/snap/$name.snap"; missing=1
  fi
done
if [ "$update" = 1 ]; then
  "$bin/vscode-tmgrammar-snap" -u -g syntaxes/netpol.tmLanguage.json "$tmp/snap/*.netpol" >/dev/null
  rm -f test/snap/*.snap
  cp "$tmp"/snap/*.snap test/snap/
else
  [ "$missing" = 0 ]
  "$bin/vscode-tmgrammar-snap" -g syntaxes/netpol.tmLanguage.json "$tmp/snap/*.netpol"
  for snap in test/snap/*.snap; do
    if [ ! -e "$repo/examples/$(basename "$snap" .snap)" ]; then
      echo "stale snapshot (no such example): editors/vscode/$snap"; exit 1
    fi
  done
fi
ok

# ---- Vim ---------------------------------------------------------------------------------------

step "Vim syntax groups"
if [ "$update" = 1 ]; then
  "$editors/vim/test/run.sh" --update
else
  "$editors/vim/test/run.sh"
fi
ok

# ---- tree-sitter -------------------------------------------------------------------------------

if [ -n "$install_pid" ]; then
  step "waiting for the tree-sitter-cli build"
  if ! wait "$install_pid"; then
    install_pid=""
    tail -n 40 "$tmp/tree-sitter-install.log"
    echo "cargo install tree-sitter-cli $TREE_SITTER_VERSION failed" >&2
    exit 1
  fi
  install_pid=""
fi
have_tree_sitter || { echo "$tree_sitter is not tree-sitter $TREE_SITTER_VERSION" >&2; exit 1; }
cd "$editors/tree-sitter-netpol"
# An empty configuration: no parser directories to scan, only this grammar.
echo '{"parser-directories": []}' >"$tmp/tree-sitter-config.json"
export TREE_SITTER_LIBDIR="$tmp/tree-sitter-lib"

if [ "$update" = 1 ]; then
  step "tree-sitter generate"
  "$tree_sitter" generate
  step "tree-sitter corpus of the examples"
  rm -f test/corpus/examples/*.txt
  rule_eq="$(printf '=%.0s' {1..80})"
  rule_dash="$(printf -- '-%.0s' {1..80})"
  for example in "$repo"/examples/*.netpol; do
    name="$(basename "$example" .netpol)"
    {
      printf '%s\n%s\n%s\n\n' "$rule_eq" "examples/$name.netpol" "$rule_eq"
      cat "$example"
      printf '\n%s\n\n' "$rule_dash"
    } >"test/corpus/examples/$name.txt"
  done
  "$tree_sitter" test --update >/dev/null || true
else
  step "the committed parser is what tree-sitter generate makes"
  mkdir -p "$tmp/generate"
  cp grammar.js tree-sitter.json "$tmp/generate/"
  (cd "$tmp/generate" && "$tree_sitter" generate)
  if ! diff -r "$tmp/generate/src" src >"$tmp/generate.diff"; then
    head -n 40 "$tmp/generate.diff"
    echo "src/ is out of date: run editors/test.sh --update (or tree-sitter generate)" >&2
    exit 1
  fi
fi
ok

step "tree-sitter test"
"$tree_sitter" test
ok

step "tree-sitter parse of every example"
"$tree_sitter" parse --config-path "$tmp/tree-sitter-config.json" "$repo"/examples/*.netpol >"$tmp/parse.out" 2>&1 || {
  grep -n 'ERROR\|MISSING' "$tmp/parse.out" | head -n 20
  echo "an example does not parse" >&2
  exit 1
}
if grep -q 'ERROR\|MISSING' "$tmp/parse.out"; then
  grep -n 'ERROR\|MISSING' "$tmp/parse.out" | head -n 20
  echo "an example parses with ERROR or MISSING nodes" >&2
  exit 1
fi
ok

step "done"
echo "editors: $passed passed, 0 failed"
