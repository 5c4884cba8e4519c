"""The keyless pipeline: the deploy workflow is valid for GitHub (checked offline against the
schema check-jsonschema vendors), assumes its role through OIDC with no key anywhere, deploys
every stack in the order its references need, each with a samconfig that pins the timezone and
fills every parameter; the bootstrap's deploy role trusts one repository's main branch and can
do what CloudFormation does for those stacks, and nothing else it should not."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
import yaml
from cfnlint.decode import decode

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
BOOTSTRAP = DEPLOY / "stacks" / "bootstrap.yaml"
MAIL_INTAKE = DEPLOY / "stacks" / "mail-intake.yaml"
HELPER = DEPLOY / "pipeline" / "samconfig.py"
BIN = Path(sys.executable).parent
ACCOUNT = "123456789012"
PREFIXES = ("ew", "ar", "og", "ss", "siu")
SYSTEMS = {
    "expiry-watcher": "ew",
    "appointment-reminder": "ar",
    "onboarding-guide": "og",
    "social-scheduler": "ss",
    "social-inbox": "siu",
}
# Each job's stacks, in the order the workflow must deploy them: the channel tokens before the
# scheduler that reads them; the inbox (which exports its queue) before the connectors that
# import it; each mail intake after the system whose raw-mime bucket it writes to.
ORDER = {
    "expiry-watcher": ["ew", "ew-mail-intake"],
    "appointment-reminder": ["ar", "ar-mail-intake"],
    "onboarding-guide": ["og", "og-mail-intake"],
    "social-scheduler": ["ss-channels", "ss"],
    "social-inbox": ["siu", "siu-connectors"],
}
UTC_NAMES = {"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Universal", "Zulu"}


# --- reading the workflow ---------------------------------------------------------------------
@cache
def workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


def triggers() -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True.
    on = workflow().get("on", workflow().get(True))
    assert isinstance(on, dict), on
    return on


def jobs() -> dict[str, dict[str, Any]]:
    return dict(workflow()["jobs"])


@dataclass(frozen=True)
class Deploy:
    job: str
    step: int
    template: Path
    samconfig: Path
    env: str
    extra: tuple[str, ...]  # NAME=VALUE the pipeline passes over the samconfig

    @property
    def stack(self) -> str:
        return str(samconfig(self.samconfig)[self.env]["deploy"]["parameters"]["stack_name"])


def deploys(job: str | None = None) -> list[Deploy]:
    found = []
    for name, body in jobs().items():
        for index, step in enumerate(body["steps"]):
            for line in str(step.get("run", "")).splitlines():
                words = shlex.split(line)
                if words[:2] == ["bash", "deploy/pipeline/sam-deploy.sh"]:
                    template, config, env, *extra = words[2:]
                    found.append(
                        Deploy(name, index, ROOT / template, ROOT / config, env, tuple(extra))
                    )
    return [d for d in found if job in (None, d.job)]


def deploy_jobs() -> list[str]:
    return sorted({d.job for d in deploys()})


def steps_using(job: str, action: str) -> list[tuple[int, dict[str, Any]]]:
    return [
        (i, step)
        for i, step in enumerate(jobs()[job]["steps"])
        if str(step.get("uses", "")).startswith(action + "@")
    ]


# --- reading templates and samconfigs ----------------------------------------------------------
@cache
def template(path: Path) -> dict[str, Any]:
    loaded, problems = decode(str(path))
    assert not problems, problems
    return dict(loaded)


@cache
def helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("samconfig_helper", HELPER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def samconfig(path: Path) -> dict[str, Any]:
    return dict(helper().load(path))


def given(deploy: Deploy) -> dict[str, str]:
    """The parameters a deploy passes: the samconfig's overrides, then the pipeline's."""
    values = dict(helper().overrides(samconfig(deploy.samconfig), deploy.env))
    for item in deploy.extra:
        name, _, value = item.partition("=")
        values[name] = value
    return values


def lint(path: Path) -> str:
    result = subprocess.run([str(BIN / "cfn-lint"), str(path)], capture_output=True, text=True)
    return result.stdout + result.stderr


# --- the workflow itself -----------------------------------------------------------------------
def offline() -> dict[str, str]:
    """The environment with every proxy pointing at a closed port: a validator that tried to
    fetch anything would fail."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    closed = "http://127.0.0.1:9"
    env.update(HTTP_PROXY=closed, HTTPS_PROXY=closed, http_proxy=closed, https_proxy=closed)
    return env


def check_workflow(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(path),
        ],
        capture_output=True,
        text=True,
        env=offline(),
    )


def test_the_workflow_is_valid_for_github_offline() -> None:
    result = check_workflow(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps: now\n")
    assert check_workflow(broken).returncode != 0


def test_it_runs_on_push_to_main_and_by_hand() -> None:
    on = triggers()
    assert on["push"] == {"branches": ["main"]}
    assert "workflow_dispatch" in on
    assert set(on) == {"push", "workflow_dispatch"}, "no pull request may reach the deploy role"


def test_it_assumes_a_role_by_oidc_and_holds_no_key() -> None:
    assert workflow()["permissions"] == {"id-token": "write", "contents": "read"}
    text = WORKFLOW.read_text()
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID"):
        assert forbidden not in text
    assert "secrets." not in text, "the pipeline needs no secret: roles and limits are variables"
    assert deploy_jobs() == sorted(SYSTEMS)
    for job in deploy_jobs():
        assert "permissions" not in jobs()[job], "a deploy job keeps the id-token permission"
        credentials = steps_using(job, "aws-actions/configure-aws-credentials")
        assert len(credentials) == 1, job
        at, step = credentials[0]
        role = step["with"]["role-to-assume"]
        assert role == f"${{{{ vars.AWS_DEPLOY_ROLE_{SYSTEMS[job].upper()} }}}}"
        assert step["with"]["aws-region"]
        assert jobs()[job]["if"] == f"vars.AWS_DEPLOY_ROLE_{SYSTEMS[job].upper()} != ''"
        for index, later in enumerate(jobs()[job]["steps"]):
            run = str(later.get("run", ""))
            if re.search(r"\baws |sam-deploy|sam deploy", run):
                assert index > at, f"{job}: {later.get('name')} runs before the credentials"


def test_the_deploys_wait_for_make_test_the_lint_and_the_bundle() -> None:
    runs = {name: [str(s.get("run", "")) for s in body["steps"]] for name, body in jobs().items()}
    testing = [name for name, lines in runs.items() if "make test" in lines]
    linting = [
        name
        for name, lines in runs.items()
        if any(
            re.fullmatch(r"\S*cfn-lint deploy/\*\.yaml deploy/stacks/\*\.yaml", r) for r in lines
        )
    ]
    building = [
        name for name, lines in runs.items() if any(r.startswith("make package") for r in lines)
    ]
    assert testing and linting and building
    for name in building:
        uploads = steps_using(name, "actions/upload-artifact")
        assert [s["with"]["path"] for _, s in uploads] == ["build/backoffice-lambda.zip"]
    for job in deploy_jobs():
        needs = set(jobs()[job]["needs"])
        assert set(testing) | set(linting) | set(building) <= needs, job
        uploaded = [
            s
            for s in jobs()[job]["steps"]
            if "aws s3 cp build/backoffice-lambda.zip" in str(s.get("run"))
        ]
        assert len(uploaded) == 1, job
        assert jobs()[job]["env"]["CODE_KEY"] == "bundles/backoffice-lambda-${{ github.sha }}.zip"


def test_the_bundle_is_built_with_the_functions_runtime_python() -> None:
    """Its bytecode is only used by the Python that compiled it (see make package)."""
    runtimes = {
        line.split(":", 1)[1].strip()
        for template in DEPLOY.glob("*.yaml")
        for line in template.read_text().splitlines()
        if line.strip().startswith("Runtime:")
    }
    assert len(runtimes) == 1
    (runtime,) = runtimes
    assert f"LAMBDA_PYTHON := {runtime.removeprefix('python')}" in (ROOT / "Makefile").read_text()
    for name, body in jobs().items():
        for step in body["steps"]:
            if str(step.get("run", "")).startswith("make package"):
                assert step["run"] == f"make package PYTHON={runtime}"
                (_, setup), *_ = steps_using(name, "actions/setup-python")
                assert f"python{setup['with']['python-version']}" == runtime


def test_every_template_the_workflow_deploys_exists_with_its_samconfig() -> None:
    for deploy in deploys():
        assert deploy.template.is_file(), deploy.template
        assert deploy.samconfig.is_file(), deploy.samconfig
        assert deploy.samconfig.parent == DEPLOY / "samconfig"
        assert deploy.env in helper().environments(samconfig(deploy.samconfig)), deploy
    deployed = {d.template for d in deploys()}
    every = set(DEPLOY.glob("*.yaml")) | set((DEPLOY / "stacks").glob("*.yaml"))
    assert every - deployed == {BOOTSTRAP}, "all but the bootstrap (by hand, once) are deployed"
    for system in SYSTEMS:
        path = DEPLOY / "samconfig" / f"{system}.toml"
        ran = [d.env for d in deploys(system)]
        assert sorted(ran) == sorted(helper().environments(samconfig(path))), system
        assert {d.samconfig for d in deploys(system)} == {path}
        assert DEPLOY / f"{system}.yaml" in {d.template for d in deploys(system)}


def test_the_stacks_deploy_in_the_order_their_references_need() -> None:
    for job, stacks in ORDER.items():
        assert [d.stack for d in deploys(job)] == stacks
        exported: set[str] = set()
        for deploy in deploys(job):
            body = template(deploy.template)
            for name in imports(body):
                assert name in exported, f"{deploy.stack} imports {name} before its export"
            for output in body.get("Outputs", {}).values():
                if "Export" in output:
                    exported.add(str(output["Export"]["Name"]))
        steps = [d.step for d in deploys(job)]
        assert steps == sorted(steps), "one stack per step, in order"


def imports(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "Fn::ImportValue":
                yield str(inner)
            else:
                yield from imports(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from imports(inner)


@pytest.mark.parametrize("deploy", deploys(), ids=lambda d: d.stack)
def test_each_stack_gets_every_parameter_and_an_explicit_timezone(deploy: Deploy) -> None:
    declared = template(deploy.template).get("Parameters", {})
    values = given(deploy)
    assert set(values) <= set(declared), f"unknown parameters {set(values) - set(declared)}"
    required = {name for name, spec in declared.items() if "Default" not in spec}
    assert required <= set(values), f"{deploy.stack} is missing {required - set(values)}"
    if "TimeZone" in declared:
        own = helper().overrides(samconfig(deploy.samconfig), deploy.env)
        assert "TimeZone" in own, "the timezone is explicit in the samconfig, never a default"
        assert own["TimeZone"] not in UTC_NAMES
        ZoneInfo(own["TimeZone"])  # a real IANA zone
    params = samconfig(deploy.samconfig)[deploy.env]["deploy"]["parameters"]
    stack = params["stack_name"]
    prefix = SYSTEMS[deploy.job]
    assert stack == prefix or stack.startswith(prefix + "-"), "the deploy role covers it"
    assert re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", params["region"])
    capabilities = str(params.get("capabilities", "")).split()
    body = template(deploy.template)
    kinds = {r["Type"] for r in body["Resources"].values() if isinstance(r, Mapping)}
    if kinds & {"AWS::IAM::Role", "AWS::Serverless::Function"}:
        assert "CAPABILITY_IAM" in capabilities
    if "AWS::LanguageExtensions" in str(body.get("Transform")):
        assert "CAPABILITY_AUTO_EXPAND" in capabilities


def test_every_system_samconfig_sets_the_timezone() -> None:
    for system in SYSTEMS:
        config = samconfig(DEPLOY / "samconfig" / f"{system}.toml")
        zone = helper().overrides(config, "default")["TimeZone"]
        assert zone not in UTC_NAMES
        ZoneInfo(zone)
        helper().region(config)  # one region for all of a system's stacks


def test_the_sms_spend_limit_is_set_by_the_pipeline() -> None:
    job = jobs()["appointment-reminder"]
    [(at, _)] = steps_using("appointment-reminder", "aws-actions/configure-aws-credentials")
    limits = [
        (i, s) for i, s in enumerate(job["steps"]) if "set-sms-attributes" in str(s.get("run"))
    ]
    assert len(limits) == 1
    index, step = limits[0]
    assert index > at
    assert step["env"]["LIMIT"] == "${{ vars.SNS_MONTHLY_SPEND_LIMIT }}"
    assert "MonthlySpendLimit=$LIMIT" in step["run"]
    others = [n for n, b in jobs().items() if "set-sms-attributes" in json.dumps(b)]
    assert others == ["appointment-reminder"], "only the system that texts"


# --- the samconfig helper ----------------------------------------------------------------------
SAMPLE = """
version = 0.1
[default.deploy.parameters]
stack_name = "ew"
region = "ap-southeast-1"
parameter_overrides = ["TimeZone=Asia/Singapore", "CodeBucket=b", "Name=a b"]
[mail.deploy.parameters]
stack_name = "ew-mail-intake"
region = "ap-southeast-1"
parameter_overrides = ["Recipients=FILL-ME"]
"""


def run_helper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HELPER), *args], capture_output=True, text=True, check=False
    )


def test_the_helper_merges_the_pipelines_values_over_the_samconfig(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SAMPLE)
    result = run_helper("overrides", str(path), "default", "CodeBucket=c", "CodeKey=k")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "TimeZone=Asia/Singapore",
        "CodeBucket=c",
        "Name=a b",
        "CodeKey=k",
    ]
    assert run_helper("region", str(path)).stdout == "ap-southeast-1\n"
    assert run_helper("stack", str(path), "mail").stdout == "ew-mail-intake\n"
    assert run_helper("param", str(path), "default", "CodeBucket").stdout == "b\n"


def test_the_helper_refuses_a_placeholder_or_two_regions(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SAMPLE)
    refused = run_helper("overrides", str(path), "mail")
    assert refused.returncode == 2 and "Recipients" in refused.stderr and not refused.stdout
    checked = run_helper("check", str(path))
    assert checked.returncode == 2 and "[mail] fill in Recipients" in checked.stderr
    path.write_text(SAMPLE.replace("FILL-ME", "in@example.com").replace('"ap-', '"eu-', 1))
    assert run_helper("check", str(path)).returncode == 2
    path.write_text(SAMPLE.replace("FILL-ME", "in@example.com"))
    assert run_helper("check", str(path)).returncode == 0


def test_the_shipped_samconfigs_are_refused_until_filled() -> None:
    """The placeholders stop the pipeline before it assumes a role, naming what to fill."""
    result = run_helper("check", str(DEPLOY / "samconfig" / "appointment-reminder.toml"))
    assert result.returncode == 2
    assert "SmsOriginationNumber" in result.stderr and "Recipients" in result.stderr


# --- the bootstrap and the mail intake ---------------------------------------------------------
@pytest.mark.parametrize("path", [BOOTSTRAP, MAIL_INTAKE], ids=lambda p: p.name)
def test_the_new_stacks_lint_clean(path: Path) -> None:
    assert lint(path) == ""


def test_the_mail_intake_writes_raw_mail_to_the_systems_bucket() -> None:
    body = template(MAIL_INTAKE)
    assert body["Parameters"]["SystemPrefix"]["AllowedValues"] == ["ew", "ar", "og"]
    resources = body["Resources"]
    assert resources["RuleSet"]["Type"] == "AWS::SES::ReceiptRuleSet"
    rule = resources["RawMimeRule"]
    assert rule["Type"] == "AWS::SES::ReceiptRule"
    assert rule["DependsOn"] == "RawMimeBucketPolicy"
    props = rule["Properties"]["Rule"]
    assert (props["Enabled"], props["ScanEnabled"], props["TlsPolicy"]) == (True, True, "Require")
    assert props["Recipients"] == {"Ref": "Recipients"}
    bucket = {"Fn::Sub": "${SystemPrefix}-raw-mime-${AWS::AccountId}"}
    assert props["Actions"] == [{"S3Action": {"BucketName": bucket}}]
    policy = resources["RawMimeBucketPolicy"]["Properties"]
    assert policy["Bucket"] == bucket
    [allow] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "ses.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert set(allow["Condition"]["StringEquals"]) == {"AWS:SourceAccount", "AWS:SourceArn"}
    description = " ".join(body["Description"].split())
    assert "set-active-receipt-rule-set" in description and "ONE rule set is active" in description
    for system, prefix in SYSTEMS.items():
        main = DEPLOY / f"{system}.yaml"
        if prefix in ("ew", "ar", "og"):
            names = json.dumps(template(main)["Resources"])
            assert f"{prefix}-raw-mime-${{AWS::AccountId}}" in names, "the bucket it writes to"


def deploy_role() -> dict[str, Any]:
    role = template(BOOTSTRAP)["Resources"]["DeployRole"]
    assert role["Type"] == "AWS::IAM::Role"
    return dict(role["Properties"])


def test_the_oidc_provider_is_githubs() -> None:
    provider = template(BOOTSTRAP)["Resources"]["GitHubOidcProvider"]["Properties"]
    assert provider["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["ClientIdList"] == ["sts.amazonaws.com"]


def test_the_deploy_role_trusts_one_repository_and_its_main_branch_only() -> None:
    [statement] = deploy_role()["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {
        "Federated": {
            "Fn::If": [
                "CreateOidcProvider",
                {"Ref": "GitHubOidcProvider"},
                {"Ref": "ExistingOidcProviderArn"},
            ]
        }
    }
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": {
                "Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/main"
            },
        }
    }
    pattern = template(BOOTSTRAP)["Parameters"]["GitHubRepository"]["AllowedPattern"]
    assert re.fullmatch(pattern, "acme/backoffice")
    for loose in ("acme/*", "*", "acme", "acme/backoffice:ref:refs/heads/*", "acme/b/c"):
        assert not re.fullmatch(pattern, loose), loose


# --- what the deploy role may do -----------------------------------------------------------------
class Resolver:
    """Enough of CloudFormation's intrinsics to name what a stack creates."""

    def __init__(
        self, body: dict[str, Any], stack: str, region: str, parameters: Mapping[str, str]
    ) -> None:
        self.body, self.stack, self.region = body, stack, region
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in body.get("Parameters", {}).items()
        }
        self.parameters.update(parameters)

    def condition(self, name: str) -> bool:
        return bool(self.value(self.body["Conditions"][name]))

    def value(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) != 1:
            return {k: self.value(v) for k, v in value.items()}
        [(key, arg)] = value.items()
        if key == "Ref":
            return self.ref(arg)
        if key == "Fn::Sub":
            text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.value(arg[1]))
            return self.sub(text, names)
        if key == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.arn(logical) if attribute == "Arn" else f"{logical}.{attribute}"
        if key == "Fn::If":
            return self.value(arg[1] if self.condition(arg[0]) else arg[2])
        if key == "Fn::Equals":
            return self.value(arg[0]) == self.value(arg[1])
        if key == "Fn::Not":
            return not self.value(arg[0])
        if key == "Fn::Join":
            return str(arg[0]).join(str(v) for v in self.value(arg[1]))
        if key == "Fn::ImportValue":
            return f"imported-{self.value(arg)}"
        if key == "Condition":
            return self.condition(arg)
        return {key: self.value(arg)}

    def sub(self, text: str, names: Mapping[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in names:
                return str(names[name])
            if name.endswith(".Arn"):
                return str(self.arn(name.removesuffix(".Arn")))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        kind = self.body["Resources"][name]["Type"]
        if kind in ("AWS::SNS::Topic", "AWS::SecretsManager::Secret", "AWS::IAM::OIDCProvider"):
            return self.arn(name)
        return self.name(name)

    NAMES: ClassVar[dict[str, str]] = {
        "AWS::Lambda::Function": "FunctionName",
        "AWS::IAM::Role": "RoleName",
        "AWS::S3::Bucket": "BucketName",
        "AWS::DynamoDB::Table": "TableName",
        "AWS::Logs::LogGroup": "LogGroupName",
        "AWS::SNS::Topic": "TopicName",
        "AWS::SQS::Queue": "QueueName",
        "AWS::Scheduler::ScheduleGroup": "Name",
        "AWS::Scheduler::Schedule": "Name",
        "AWS::Events::Rule": "Name",
        "AWS::SecretsManager::Secret": "Name",
        "AWS::SES::ConfigurationSet": "Name",
        "AWS::SES::ReceiptRuleSet": "RuleSetName",
        "AWS::CloudWatch::Alarm": "AlarmName",
        "AWS::CloudWatch::CompositeAlarm": "AlarmName",
    }

    def name(self, logical: str) -> str:
        resource = self.body["Resources"][logical]
        props = resource.get("Properties", {})
        key = self.NAMES.get(resource["Type"])
        if key and key in props:
            return str(self.value(props[key]))
        if resource["Type"] == "AWS::Budgets::Budget":
            return str(self.value(props["Budget"]["BudgetName"]))
        generated = f"{self.stack}-{logical}-GENERATED"  # how CloudFormation names the rest
        return generated.lower() if resource["Type"] == "AWS::S3::Bucket" else generated

    def arn(self, logical: str) -> str:
        kind = self.body["Resources"][logical]["Type"]
        name = self.name(logical)
        at = f"{self.region}:{ACCOUNT}"
        arns = {
            "AWS::Lambda::Function": f"arn:aws:lambda:{at}:function:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{at}:table/{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{at}:log-group:{name}:*",
            "AWS::SNS::Topic": f"arn:aws:sns:{at}:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{at}:{name}",
            "AWS::Scheduler::ScheduleGroup": f"arn:aws:scheduler:{at}:schedule-group/{name}",
            "AWS::Events::Rule": f"arn:aws:events:{at}:rule/{name}",
            "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{at}:secret:{name}-AbCdEf",
            "AWS::SES::ConfigurationSet": f"arn:aws:ses:{at}:configuration-set/{name}",
            "AWS::CloudWatch::Alarm": f"arn:aws:cloudwatch:{at}:alarm:{name}",
            "AWS::CloudWatch::CompositeAlarm": f"arn:aws:cloudwatch:{at}:alarm:{name}",
            "AWS::IAM::OIDCProvider": f"arn:aws:iam::{ACCOUNT}:oidc-provider/github",
        }
        return arns.get(kind, f"{logical}.Arn")


def expand_for_each(body: dict[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    """AWS::LanguageExtensions' Fn::ForEach over a CommaDelimitedList parameter."""
    resources: dict[str, Any] = {}
    for key, value in body["Resources"].items():
        if not key.startswith("Fn::ForEach::"):
            resources[key] = value
            continue
        variable, collection, shapes = value
        items = str(parameters[collection["Ref"]]).split(",")
        for item in items:
            for shape, resource in shapes.items():
                text = json.dumps(resource).replace(f"${{{variable}}}", item)
                resources[shape.replace(f"${{{variable}}}", item)] = json.loads(text)
    return {**body, "Resources": resources}


@cache
def rendered(deploy: Deploy) -> tuple[dict[str, Any], Resolver]:
    """The plain CloudFormation the stack becomes, with the values the pipeline would pass."""
    values = {
        name: value.replace("FILL-ME", "fill-me").replace("$CODE_BUCKET", code_bucket(deploy))
        for name, value in given(deploy).items()
    }
    values["CodeBucket"] = code_bucket(deploy)
    values["CodeKey"] = "bundles/backoffice-lambda-0123abc.zip"
    body = template(deploy.template)
    declared = body.get("Parameters", {})
    values = {k: v for k, v in values.items() if k in declared}
    if "AWS::Serverless-2016-10-31" in str(body.get("Transform")):
        from samtranslator.translator.transform import transform

        class NoManagedPolicies:
            def load(self) -> dict[str, str]:
                return {}

        with pytest.MonkeyPatch.context() as patch:  # the translator reads the region
            patch.setenv("AWS_DEFAULT_REGION", region(deploy))
            translated = transform(copy.deepcopy(body), values, NoManagedPolicies())
        body = json.loads(json.dumps(translated, default=str))
    if "AWS::LanguageExtensions" in str(body.get("Transform")):
        defaults = {k: str(v.get("Default", "")) for k, v in declared.items()}
        body = expand_for_each(body, {**defaults, **values})
    return body, Resolver(body, deploy.stack, region(deploy), values)


def region(deploy: Deploy) -> str:
    return str(helper().region(samconfig(deploy.samconfig)))


def code_bucket(deploy: Deploy) -> str:
    return f"backoffice-code-{ACCOUNT}-{region(deploy)}"


Need = tuple[str, str, dict[str, str]]  # action, resource, condition context


def needs(deploy: Deploy) -> Iterator[Need]:
    """What CloudFormation calls, as the deploy role, to create each resource of the stack."""
    body, r = rendered(deploy)
    at = f"{r.region}:{ACCOUNT}"
    stack = f"arn:aws:cloudformation:{at}:stack/{deploy.stack}/0a1b2c3d"
    for action in ("CreateChangeSet", "DescribeChangeSet", "ExecuteChangeSet", "DescribeStacks"):
        yield f"cloudformation:{action}", stack, {}
    for transform in re.findall(
        r"AWS::(Serverless-2016-10-31|LanguageExtensions)",
        str(template(deploy.template).get("Transform")),
    ):
        yield (
            "cloudformation:CreateChangeSet",
            f"arn:aws:cloudformation:{r.region}:aws:transform/{transform}",
            {},
        )
    yield "s3:PutObject", f"arn:aws:s3:::{code_bucket(deploy)}/{deploy.stack}/template", {}

    def function_arn(value: Any) -> str:
        text = str(r.value(value))
        return text if text.startswith("arn:") else f"arn:aws:lambda:{at}:function:{text}"

    for logical, resource in body["Resources"].items():
        if "Condition" in resource and not r.condition(resource["Condition"]):
            continue
        kind, props = resource["Type"], resource.get("Properties", {})
        arn = r.arn(logical)
        if kind == "AWS::IAM::Role":
            yield "iam:CreateRole", arn, {}
            if props.get("Policies"):
                yield "iam:PutRolePolicy", arn, {}
            if props.get("ManagedPolicyArns"):
                yield "iam:AttachRolePolicy", arn, {}
        elif kind == "AWS::Lambda::Function":
            yield "lambda:CreateFunction", arn, {}
            yield (
                "iam:PassRole",
                str(r.value(props["Role"])),
                {"iam:PassedToService": "lambda.amazonaws.com"},
            )
            code = props["Code"]
            yield (
                "s3:GetObject",
                f"arn:aws:s3:::{r.value(code['S3Bucket'])}/{r.value(code['S3Key'])}",
                {},
            )
        elif kind == "AWS::Lambda::Url":
            yield "lambda:CreateFunctionUrlConfig", function_arn(props["TargetFunctionArn"]), {}
        elif kind == "AWS::Lambda::Permission":
            yield "lambda:AddPermission", function_arn(props["FunctionName"]), {}
        elif kind == "AWS::Lambda::EventSourceMapping":
            yield (
                "lambda:CreateEventSourceMapping",
                "*",
                {"lambda:FunctionArn": function_arn(props["FunctionName"])},
            )
        elif kind == "AWS::Lambda::EventInvokeConfig":
            yield "lambda:PutFunctionEventInvokeConfig", function_arn(props["FunctionName"]), {}
        elif kind == "AWS::DynamoDB::Table":
            yield "dynamodb:CreateTable", arn, {}
        elif kind == "AWS::S3::Bucket":
            yield "s3:CreateBucket", arn, {}
            if "NotificationConfiguration" in props:
                yield "s3:PutBucketNotification", arn, {}
        elif kind == "AWS::S3::BucketPolicy":
            yield "s3:PutBucketPolicy", f"arn:aws:s3:::{r.value(props['Bucket'])}", {}
        elif kind == "AWS::Logs::LogGroup":
            yield "logs:CreateLogGroup", arn, {}
            yield "logs:PutRetentionPolicy", arn, {}
        elif kind == "AWS::Logs::MetricFilter":
            group = r.value(props["LogGroupName"])
            yield "logs:PutMetricFilter", f"arn:aws:logs:{at}:log-group:{group}:*", {}
        elif kind == "AWS::SNS::Topic":
            yield "sns:CreateTopic", arn, {}
            if props.get("Subscription"):
                yield "sns:Subscribe", arn, {}
        elif kind == "AWS::SNS::TopicPolicy":
            for topic in r.value(props["Topics"]):
                yield "sns:SetTopicAttributes", str(topic), {}
        elif kind == "AWS::SNS::Subscription":
            yield "sns:Subscribe", str(r.value(props["TopicArn"])), {}
        elif kind == "AWS::SQS::Queue":
            yield "sqs:CreateQueue", arn, {}
        elif kind == "AWS::Scheduler::ScheduleGroup":
            yield "scheduler:CreateScheduleGroup", arn, {}
        elif kind == "AWS::Scheduler::Schedule":
            group = r.value(props.get("GroupName", "default"))
            name = r.name(logical)
            yield "scheduler:CreateSchedule", f"arn:aws:scheduler:{at}:schedule/{group}/{name}", {}
            yield (
                "iam:PassRole",
                str(r.value(props["Target"]["RoleArn"])),
                {"iam:PassedToService": "scheduler.amazonaws.com"},
            )
        elif kind == "AWS::Events::Rule":
            yield "events:PutRule", arn, {}
            yield "events:PutTargets", arn, {}
            for target in props.get("Targets", []):
                assert "RoleArn" not in target, "a rule target's role: grant PassRole to events"
        elif kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
            action = "PutMetricAlarm" if kind.endswith("::Alarm") else "PutCompositeAlarm"
            yield f"cloudwatch:{action}", arn, {}
        elif kind == "AWS::Budgets::Budget":  # and what its handler reads back
            budget = f"arn:aws:budgets::{ACCOUNT}:budget/{r.name(logical)}"
            for action in ("ModifyBudget", "ViewBudget", "ListTagsForResource"):
                yield f"budgets:{action}", budget, {}
            yield "billing:GetBillingViewData", f"arn:aws:billing::{ACCOUNT}:billingview/x", {}
        elif kind == "AWS::SecretsManager::Secret":
            for action in ("CreateSecret", "DescribeSecret", "UpdateSecret", "GetSecretValue"):
                yield f"secretsmanager:{action}", arn, {}  # the handler reads the value back
            if "GenerateSecretString" in props:
                yield "secretsmanager:GetRandomPassword", "*", {}
        elif kind == "AWS::SES::ConfigurationSet":
            yield "ses:CreateConfigurationSet", arn, {}
        elif kind == "AWS::SES::ConfigurationSetEventDestination":
            name = r.value(props["ConfigurationSetName"])
            yield (
                "ses:CreateConfigurationSetEventDestination",
                f"arn:aws:ses:{at}:configuration-set/{name}",
                {},
            )
        elif kind == "AWS::SES::ReceiptRuleSet":
            yield "ses:CreateReceiptRuleSet", "*", {}
        elif kind == "AWS::SES::ReceiptRule":
            yield "ses:CreateReceiptRule", "*", {}
        else:
            pytest.fail(
                f"{deploy.stack}: {logical} is a {kind}, which the deploy role check does not"
                " know: grant what CloudFormation calls for it in deploy/stacks/bootstrap.yaml"
                " and add it here"
            )


def bootstrap_resolver() -> Resolver:
    return Resolver(
        template(BOOTSTRAP), "backoffice-bootstrap", "ap-southeast-1", {"GitHubRepository": "a/b"}
    )


def deploy_policies() -> list[dict[str, Any]]:
    """The deploy role's policies (managed, attached by Ref), resolved."""
    resources = template(BOOTSTRAP)["Resources"]
    assert "Policies" not in deploy_role(), "all in managed policies, under IAM's size caps"
    attached = [ref["Ref"] for ref in deploy_role()["ManagedPolicyArns"]]
    assert all(resources[name]["Type"] == "AWS::IAM::ManagedPolicy" for name in attached)
    return [
        bootstrap_resolver().value(resources[name]["Properties"]["PolicyDocument"])
        for name in attached
    ]


@cache
def deploy_policy() -> list[dict[str, Any]]:
    return [statement for doc in deploy_policies() for statement in doc["Statement"]]


def test_each_deploy_policy_fits_iams_cap() -> None:
    for doc in deploy_policies():  # 6,144 characters each, whitespace not counted
        assert len(json.dumps(doc, separators=(",", ":"))) <= 6144


def listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def applies(
    statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]
) -> bool:
    if not any(fnmatchcase(action.lower(), a.lower()) for a in listed(statement["Action"])):
        return False
    if "NotResource" in statement:
        if any(fnmatchcase(resource, r) for r in listed(statement["NotResource"])):
            return False
    elif not any(fnmatchcase(resource, r) for r in listed(statement["Resource"])):
        return False
    for operator, tests in statement.get("Condition", {}).items():
        for key, expected in tests.items():
            actual = context.get(key)  # a key the request lacks fails its condition, as in IAM
            if operator == "StringEquals":
                if actual not in listed(expected):
                    return False
            elif operator in ("ArnLike", "StringLike"):
                if actual is None or not any(fnmatchcase(actual, e) for e in listed(expected)):
                    return False
            else:
                pytest.fail(f"the check does not evaluate {operator}")
    return True


def allowed(action: str, resource: str, context: Mapping[str, str] = {}) -> bool:
    """IAM's evaluation of one identity policy: some Allow applies and no Deny does."""
    matching = [s["Effect"] for s in deploy_policy() if applies(s, action, resource, context)]
    return "Allow" in matching and "Deny" not in matching


@pytest.mark.parametrize("deploy", deploys(), ids=lambda d: d.stack)
def test_the_deploy_role_may_create_everything_the_stack_holds(deploy: Deploy) -> None:
    missing = sorted({f"{a} on {r}" for a, r, c in needs(deploy) if not allowed(a, r, c)})
    assert not missing, missing


def test_the_deploy_role_may_upload_the_bundle_and_set_the_spend_limit() -> None:
    bucket = f"arn:aws:s3:::backoffice-code-{ACCOUNT}-ap-southeast-1"
    assert allowed("s3:PutObject", f"{bucket}/bundles/backoffice-lambda-abc.zip")
    assert allowed("s3:GetObject", f"{bucket}/bundles/backoffice-lambda-abc.zip")
    assert allowed("sns:SetSMSAttributes", "*")
    assert allowed("cloudformation:DescribeStacks", stack_arn("ew-mail-intake"))
    assert allowed("ses:DescribeActiveReceiptRuleSet", "*")
    for prefix in PREFIXES:  # the systems' stacks and their <prefix>-... companions
        for stack in (prefix, f"{prefix}-companion"):
            assert allowed("cloudformation:ExecuteChangeSet", stack_arn(stack))


def stack_arn(name: str) -> str:
    return f"arn:aws:cloudformation:ap-southeast-1:{ACCOUNT}:stack/{name}/0a1b2c3d"


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("cloudformation:CreateChangeSet", stack_arn("backoffice-bootstrap"), {}),
        ("cloudformation:ExecuteChangeSet", stack_arn("someone-else"), {}),
        ("cloudformation:CreateChangeSet", stack_arn("ewx"), {}),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/backoffice-github-deploy", {}),
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/admin", {}),
        ("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/ew-WatcherRole-X", {}),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/ew-WatcherRole-X", {}),
        (
            "iam:PassRole",
            f"arn:aws:iam::{ACCOUNT}:role/ew-WatcherRole-X",
            {"iam:PassedToService": "ec2.amazonaws.com"},
        ),
        (
            "iam:PassRole",
            f"arn:aws:iam::{ACCOUNT}:role/backoffice-github-deploy",
            {"iam:PassedToService": "lambda.amazonaws.com"},
        ),
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/ew-x", {}),
        ("lambda:CreateFunction", f"arn:aws:lambda:ap-southeast-1:{ACCOUNT}:function:other", {}),
        (
            "lambda:CreateEventSourceMapping",
            "*",
            {"lambda:FunctionArn": f"arn:aws:lambda:ap-southeast-1:{ACCOUNT}:function:other"},
        ),
        (
            "secretsmanager:GetSecretValue",
            f"arn:aws:secretsmanager:ap-southeast-1:{ACCOUNT}:secret:siu/fb/page-token-AbCdEf",
            {},
        ),
        (
            "secretsmanager:GetSecretValue",
            f"arn:aws:secretsmanager:ap-southeast-1:{ACCOUNT}:secret:ew/slack/bot-token-AbCdEf",
            {},
        ),
        (
            "secretsmanager:PutSecretValue",
            f"arn:aws:secretsmanager:ap-southeast-1:{ACCOUNT}:secret:ew/links/secret-AbCdEf",
            {},
        ),
        ("s3:GetObject", f"arn:aws:s3:::ew-raw-mime-{ACCOUNT}/message", {}),
        ("s3:PutObject", "arn:aws:s3:::ss-postsbucket-x/images/a.png", {}),
        ("dynamodb:Scan", f"arn:aws:dynamodb:ap-southeast-1:{ACCOUNT}:table/ew-pings", {}),
        ("sqs:ReceiveMessage", f"arn:aws:sqs:ap-southeast-1:{ACCOUNT}:siu-intake-queue", {}),
        ("sns:Publish", f"arn:aws:sns:ap-southeast-1:{ACCOUNT}:ew-cost-alarm", {}),
        (
            "lambda:InvokeFunction",
            f"arn:aws:lambda:ap-southeast-1:{ACCOUNT}:function:ew-watcher",
            {},
        ),
        ("s3:DeleteBucket", f"arn:aws:s3:::backoffice-code-{ACCOUNT}-ap-southeast-1", {}),
        ("ses:SetActiveReceiptRuleSet", "*", {}),
        ("ses:SendEmail", "*", {}),
        ("dynamodb:Scan", f"arn:aws:dynamodb:ap-southeast-1:{ACCOUNT}:table/other", {}),
        ("sts:AssumeRole", "*", {}),
    ],
)
def test_the_deploy_role_may_not(action: str, resource: str, context: dict[str, str]) -> None:
    assert not allowed(action, resource, context)
