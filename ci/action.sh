#!/usr/bin/env bash
# The steps of the netpol GitHub Action (action.yml) after netpol is installed: check the
# policies with workflow annotations, optionally write SARIF, optionally comment what a pull
# request changes. The runner gives the inputs as INPUT_* variables (action.yml maps them).
#
#   INPUT_PATH            what to check (default: .)
#   INPUT_TARGET          also check that this target can express the program (optional)
#   INPUT_SARIF           a file to write SARIF to, for upload (optional)
#   INPUT_DIFF_COMMENT    `true`: comment `netpol diff` on the pull request (needs GITHUB_TOKEN,
#                         PR_NUMBER, BASE_REF; see ci/pr-diff-comment.sh)
#   NETPOL                the binary (default: netpol on PATH)
#
# Outputs (GITHUB_OUTPUT): errors, warnings, and changed (with the diff comment).
# Exit status: 1 when the check finds errors, else 0 (or what the diff comment step returns).
set -euo pipefail

netpol=${NETPOL:-netpol}
path=${INPUT_PATH:-.}
here=$(cd "$(dirname "$0")" && pwd)
target=()
if [ -n "${INPUT_TARGET:-}" ]; then
  target=(--target "$INPUT_TARGET")
fi

# Annotations: GitHub reads `::error file=…` lines from the step's output.
set +e
"$netpol" check "${target[@]}" --format github "$path"
status=$?
set -e
json=$("$netpol" check "${target[@]}" --format json "$path" || true)
errors=$(printf '%s' "$json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["errors"])')
warnings=$(printf '%s' "$json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["warnings"])')
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  { echo "errors=$errors"; echo "warnings=$warnings"; } >> "$GITHUB_OUTPUT"
fi
if [ -n "${INPUT_SARIF:-}" ]; then
  "$netpol" check "${target[@]}" --format sarif "$path" > "$INPUT_SARIF" || true
fi
if [ "${INPUT_DIFF_COMMENT:-false}" = "true" ]; then
  POLICY_PATH="$path" NETPOL="$netpol" "$here/pr-diff-comment.sh"
fi
exit "$status"
