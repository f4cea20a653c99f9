#!/usr/bin/env bash
# Runs `prodcheck audit` for the CI recipes: the GitHub Action (action.yml) and the Azure
# Pipelines template (ci/azure-pipelines/prodcheck.yml) both call this script, so that both
# build the same command line from the same settings.
#
# Settings come from environment variables (empty means "not given"):
#   PRODCHECK_CONFIG           configuration file (default: prodcheck.yaml, when present)
#   PRODCHECK_SUBSCRIPTIONS    subscription ids to audit, separated by spaces, commas or lines
#   PRODCHECK_RESOURCE_GROUPS  resource groups to audit, separated the same way
#   PRODCHECK_SNAPSHOT         audit this snapshot file instead of a live scope
#   PRODCHECK_WHAT_IF          audit this ARM/Bicep what-if result (JSON) before deploying
#   PRODCHECK_TERRAFORM_PLAN   audit this Terraform plan (terraform show -json) before apply
#   PRODCHECK_TERRAFORM_SOURCE with a Terraform plan: the directory of its .tf files
#   PRODCHECK_WITH_SNAPSHOT    with a plan: judge it on top of this snapshot of the estate
#   PRODCHECK_AUTH             credential for a live audit (default: cli, the pipeline's sign-in)
#   PRODCHECK_FORMATS          report formats (default: terminal json sarif html markdown junit)
#   PRODCHECK_FAIL_ON          severity threshold of the gate (default: the configuration's)
#   PRODCHECK_BASELINE         an earlier JSON report: gate only on new or regressed findings
#   PRODCHECK_OUTPUT_DIR       where the reports go (default: prodcheck-out; created)
#   PRODCHECK_ARGS             further arguments for `prodcheck audit`, split on spaces
#
# Exits with prodcheck's exit code: 0 gate passed, 1 gate failed, 2 usage or input error.
set -uo pipefail
set -f # settings are words, never file patterns

words() { tr ',\n' '  ' <<<"${1:-}"; }

args=(audit)
[ -n "${PRODCHECK_CONFIG:-}" ] && args+=(--config "$PRODCHECK_CONFIG")
if [ -n "${PRODCHECK_WHAT_IF:-}" ] || [ -n "${PRODCHECK_TERRAFORM_PLAN:-}" ]; then
    [ -n "${PRODCHECK_WHAT_IF:-}" ] && args+=(--what-if "$PRODCHECK_WHAT_IF")
    [ -n "${PRODCHECK_TERRAFORM_PLAN:-}" ] && args+=(--terraform-plan "$PRODCHECK_TERRAFORM_PLAN")
    [ -n "${PRODCHECK_TERRAFORM_PLAN:-}" ] && [ -n "${PRODCHECK_TERRAFORM_SOURCE:-}" ] &&
        args+=(--terraform-source "$PRODCHECK_TERRAFORM_SOURCE")
    [ -n "${PRODCHECK_WITH_SNAPSHOT:-}" ] && args+=(--with-snapshot "$PRODCHECK_WITH_SNAPSHOT")
elif [ -n "${PRODCHECK_SNAPSHOT:-}" ]; then
    args+=(--snapshot "$PRODCHECK_SNAPSHOT")
else
    for id in $(words "${PRODCHECK_SUBSCRIPTIONS:-}"); do args+=(--subscription "$id"); done
    for rg in $(words "${PRODCHECK_RESOURCE_GROUPS:-}"); do args+=(--resource-group "$rg"); done
    args+=(--auth "${PRODCHECK_AUTH:-cli}" --quiet)
fi
[ -n "${PRODCHECK_FAIL_ON:-}" ] && args+=(--fail-on "$PRODCHECK_FAIL_ON")
[ -n "${PRODCHECK_BASELINE:-}" ] && args+=(--baseline "$PRODCHECK_BASELINE")
for fmt in $(words "${PRODCHECK_FORMATS:-terminal json sarif html markdown junit}"); do
    args+=(--format "$fmt")
done
out="${PRODCHECK_OUTPUT_DIR:-prodcheck-out}"
mkdir -p "$out" # the publishing steps find it even when the audit stops early
args+=(--output-dir "$out")
# shellcheck disable=SC2206 # word splitting is what PRODCHECK_ARGS asks for
[ -n "${PRODCHECK_ARGS:-}" ] && args+=(${PRODCHECK_ARGS})

echo "prodcheck ${args[*]}" >&2
prodcheck "${args[@]}"
