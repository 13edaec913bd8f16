#!/usr/bin/env bash
# cfn-lint over the packaged CloudFormation template of each deployable stage (default: dev prod), packaged
# offline (local/package.ts) into a temporary directory so .serverless/ is left alone. Settings and the
# commented ignore list: .cfnlintrc.yaml. Fails on any error or warning (cfn-lint exits non-zero).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then stages=("$@"); else stages=(dev prod); fi
out="$(mktemp -d "${TMPDIR:-/tmp}/cbr-flow-cfn-lint.XXXXXX")"
trap 'rm -rf "$out"' EXIT
status=0
for stage in "${stages[@]}"; do
  dir="$out/$stage"
  npx tsx -e "import('./local/package.ts').then((m) => m.packageService(process.cwd(), '$stage', ['--package', '$dir'])).catch((e) => { console.error(e.message); process.exit(1); })"
  template="$dir/cloudformation-template-update-stack.json"
  if cfn-lint --format parseable -- "$template"; then
    echo "cfn-lint: $stage: 0 errors, 0 warnings"
  else
    status=1
    echo "cfn-lint: $stage: findings above" >&2
  fi
done
exit "$status"
