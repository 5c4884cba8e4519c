"""Read a system's samconfig (deploy/samconfig/<system>.toml) for the deploy pipeline.

    samconfig.py check FILE                every environment is deployable (no FILL-ME left)
    samconfig.py region FILE               the region every stack of the file deploys to
    samconfig.py stack FILE ENV            the stack name of one environment
    samconfig.py param FILE ENV NAME       one parameter override's value
    samconfig.py overrides FILE ENV [NAME=VALUE ...]
                                           the environment's parameter overrides, one per line,
                                           with the NAME=VALUEs merged over them

`sam deploy --parameter-overrides` replaces the samconfig's whole list instead of adding to it,
so the pipeline passes the merged list. Any value still holding the placeholder FILL-ME is
refused (exit 2): the operator fills the samconfig before the first deploy.

Standard library only (Python 3.11+): the deploy jobs run it with the runner's python3.
"""

from __future__ import annotations

import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

PLACEHOLDER = "FILL-ME"


class Refused(Exception):
    """The samconfig cannot be deployed as it is."""


def load(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def deploy_parameters(config: dict[str, Any], env: str) -> dict[str, Any]:
    try:
        params = config[env]["deploy"]["parameters"]
    except KeyError:
        raise Refused(f"no [{env}.deploy.parameters] table") from None
    if not isinstance(params, dict):
        raise Refused(f"[{env}.deploy.parameters] is not a table")
    return params


def environments(config: dict[str, Any]) -> list[str]:
    return [
        name
        for name, table in config.items()
        if isinstance(table, dict) and isinstance(table.get("deploy"), dict)
    ]


def overrides(config: dict[str, Any], env: str) -> dict[str, str]:
    """The environment's parameter_overrides as NAME -> VALUE, in their order."""
    raw = deploy_parameters(config, env).get("parameter_overrides", [])
    items = shlex.split(raw) if isinstance(raw, str) else [str(item) for item in raw]
    merged: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise Refused(f"[{env}] parameter override {item!r} is not NAME=VALUE")
        merged[name] = value
    return merged


def merged(config: dict[str, Any], env: str, extra: list[str]) -> dict[str, str]:
    result = overrides(config, env)
    for item in extra:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise Refused(f"{item!r} is not NAME=VALUE")
        result[name] = value
    unfilled = sorted(name for name, value in result.items() if PLACEHOLDER in value)
    if unfilled:
        raise Refused(f"[{env}] fill in {', '.join(unfilled)} (still {PLACEHOLDER})")
    return result


def region(config: dict[str, Any]) -> str:
    regions = {deploy_parameters(config, env).get("region") for env in environments(config)}
    if len(regions) != 1 or None in regions:
        raise Refused(f"every environment needs the same region, found {sorted(map(str, regions))}")
    (only,) = regions
    if PLACEHOLDER in str(only):
        raise Refused(f"fill in the region (still {PLACEHOLDER})")
    return str(only)


def check(config: dict[str, Any]) -> None:
    """Every environment deployable as it stands: one region, no placeholder left."""
    problems = []
    try:
        region(config)
    except Refused as problem:
        problems.append(str(problem))
    for env in environments(config):
        try:
            merged(config, env, [])
        except Refused as problem:
            problems.append(str(problem))
    if problems:
        raise Refused("; ".join(problems))


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 64
    command, path, *rest = argv
    try:
        config = load(Path(path))
        if command == "check" and not rest:
            check(config)
        elif command == "region" and not rest:
            print(region(config))
        elif command == "stack" and len(rest) == 1:
            print(deploy_parameters(config, rest[0])["stack_name"])
        elif command == "param" and len(rest) == 2:
            value = merged(config, rest[0], []).get(rest[1])
            if value is None:
                raise Refused(f"[{rest[0]}] sets no {rest[1]}")
            print(value)
        elif command == "overrides" and rest:
            for name, value in merged(config, rest[0], rest[1:]).items():
                print(f"{name}={value}")
        else:
            print(__doc__, file=sys.stderr)
            return 64
    except (Refused, KeyError, OSError, tomllib.TOMLDecodeError) as problem:
        print(f"{path}: {problem}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
