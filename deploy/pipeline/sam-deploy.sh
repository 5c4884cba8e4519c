#!/usr/bin/env bash
# Deploy one stack with one environment of its system's samconfig, as the pipeline does (and as
# an operator can, with credentials for the system's account):
#
#   bash deploy/pipeline/sam-deploy.sh TEMPLATE SAMCONFIG CONFIG_ENV [NAME=VALUE ...]
#   bash deploy/pipeline/sam-deploy.sh deploy/expiry-watcher.yaml \
#       deploy/samconfig/expiry-watcher.toml default CodeKey=bundles/backoffice-lambda-abc.zip
#
# The NAME=VALUEs are merged over the environment's parameter_overrides: `sam deploy
# --parameter-overrides` alone would drop the samconfig's list. A FILL-ME left in the samconfig
# stops the deploy. sam deploy uploads the template to the system's code bucket (CodeBucket of
# the samconfig's default environment), under the stack's name.
set -euo pipefail

if [ "$#" -lt 3 ]; then
  sed -n '2,13p' "$0" >&2
  exit 64
fi
template=$1 samconfig=$2 config_env=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
conf() { python3 "$here/samconfig.py" "$@"; }

# Absolute paths: given a --template-file elsewhere, sam resolves a relative --config-file
# against the template's folder, not the working directory.
template=$(realpath "$template")
samconfig=$(realpath "$samconfig")
[ -f "$template" ] || { echo "no template $template" >&2; exit 2; }

stack=$(conf stack "$samconfig" "$config_env")
bucket=$(conf param "$samconfig" default CodeBucket)
listed=$(conf overrides "$samconfig" "$config_env" "$@")
parameters=()
if [ -n "$listed" ]; then
  mapfile -t overrides <<< "$listed"
  parameters=(--parameter-overrides "${overrides[@]}")
fi

echo "Deploying $stack from ${template#"$PWD"/} ([$config_env] of ${samconfig#"$PWD"/})"
sam deploy \
  --template-file "$template" \
  --config-file "$samconfig" \
  --config-env "$config_env" \
  --s3-bucket "$bucket" \
  --s3-prefix "$stack" \
  --no-confirm-changeset \
  --no-fail-on-empty-changeset \
  "${parameters[@]}"
