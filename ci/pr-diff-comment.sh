#!/usr/bin/env bash
# Posts what a pull request changes in the policies, as `netpol diff --git BASE PATH --format
# markdown` prints it, as a comment on the pull request (a step of the GitHub Actions job in
# README "CI recipe"). Without PR_NUMBER or GITHUB_TOKEN it prints the comment instead.
#
# Environment:
#   NETPOL             the netpol binary (default: netpol on PATH)
#   BASE_REF           the revision to compare with (default: origin/main)
#   POLICY_PATH        the policies' path in the repository (default: .)
#   NETPOL_DIFF_ARGS   more arguments for `netpol diff` (`--inventory cluster.yaml`, `-t cilium`)
#   PR_NUMBER, GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL (default https://api.github.com)
#   GITHUB_OUTPUT      where the step's output `changed=true|false` goes (set by the runner)
#
# Exit status: 0 whether or not the policies changed; netpol's own status (2) when the sides
# cannot be compared, or curl's when the comment cannot be posted.
set -euo pipefail

netpol=${NETPOL:-netpol}
base=${BASE_REF:-origin/main}
path=${POLICY_PATH:-.}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck disable=SC2086  # NETPOL_DIFF_ARGS is a list of arguments
set +e
"$netpol" diff --git "$base" "$path" --format markdown ${NETPOL_DIFF_ARGS:-} > "$work/comment.md"
status=$?
set -e
case $status in
  0) changed=false ;;
  1) changed=true ;;
  *) exit "$status" ;;
esac
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "changed=$changed" >> "$GITHUB_OUTPUT"
fi

if [ -z "${PR_NUMBER:-}" ] || [ -z "${GITHUB_TOKEN:-}" ]; then
  cat "$work/comment.md"
  exit 0
fi
python3 -c 'import json, sys; json.dump({"body": open(sys.argv[1]).read()}, sys.stdout)' \
  "$work/comment.md" > "$work/comment.json"
curl --fail --silent --show-error -X POST \
  -H "Authorization: Bearer $GITHUB_TOKEN" \
  -H "Accept: application/vnd.github+json" \
  --data @"$work/comment.json" \
  "${GITHUB_API_URL:-https://api.github.com}/repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" > /dev/null
