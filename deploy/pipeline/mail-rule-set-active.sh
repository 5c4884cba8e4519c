#!/usr/bin/env bash
# After a mail-intake deploy: warn (a GitHub annotation, not a failure) when the stack's receipt
# rule set is not the account's active one. CloudFormation cannot activate a rule set, and only
# one is active per account and region, so activating it is left to an operator, once:
#
#   bash deploy/pipeline/mail-rule-set-active.sh deploy/samconfig/expiry-watcher.toml
set -euo pipefail

samconfig=${1:?usage: mail-rule-set-active.sh SAMCONFIG}
here=$(cd "$(dirname "$0")" && pwd)
stack=$(python3 "$here/samconfig.py" stack "$samconfig" mail)
wanted=$(aws cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Outputs[?OutputKey=='RuleSetName'].OutputValue" --output text)
active=$(aws ses describe-active-receipt-rule-set --query Metadata.Name --output text)

if [ "$active" = "$wanted" ]; then
  echo "The receipt rule set $wanted is active."
else
  [ "$active" = "None" ] && active="none"
  echo "::warning title=Mail intake not active::The receipt rule set $wanted is not the active one (active: $active), so no forwarded mail reaches the system. Activating it replaces the active set; if that is right, run once: aws ses set-active-receipt-rule-set --rule-set-name $wanted"
fi
