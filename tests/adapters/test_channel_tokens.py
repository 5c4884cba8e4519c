"""Where channel tokens live (a folder, Secrets Manager under moto) and what a secret says."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REGION, aws
from hypothesis import given
from hypothesis import strategies as st

from backoffice.adapters.posting import FileTokens, SecretsManagerTokens
from backoffice.adapters.posting.tokens import fingerprint, parse_token
from backoffice.ports.posting import TokenRejected

SECRET = json.dumps({"access_token": "EAAG-1", "refresh_token": "r-1", "expires_at": 1.8e9})


@pytest.fixture
def secrets_manager() -> Iterator[Any]:
    import boto3

    with aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def test_a_folder_keeps_each_secret_for_its_owner_only(tmp_path: Path) -> None:
    tokens = FileTokens(tmp_path)
    tokens.write("ss/channels/shop", SECRET)
    assert tokens.read("ss/channels/shop") == SECRET
    [path] = tmp_path.iterdir()
    assert path.name == "ss%2Fchannels%2Fshop.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tokens.write("ss/channels/shop", "EAAG-2")  # rewritten whole, still the owner's alone
    assert tokens.read("ss/channels/shop") == "EAAG-2"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@given(st.lists(st.text(min_size=1, max_size=100), min_size=2, max_size=2, unique=True))
def test_two_names_are_two_files_inside_the_folder(names: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        tokens = FileTokens(Path(folder))
        for name in names:
            tokens.write(name, name)
        assert [tokens.read(name) for name in names] == names
        assert all(path.parent == Path(folder) for path in Path(folder).iterdir())


def test_a_secret_that_is_not_there_is_a_key_error(tmp_path: Path, secrets_manager: Any) -> None:
    for tokens in (FileTokens(tmp_path), SecretsManagerTokens(secrets_manager)):
        with pytest.raises(KeyError):
            tokens.read("ss/channels/missing")


def test_secrets_manager_reads_and_writes_the_secret_string(secrets_manager: Any) -> None:
    secrets_manager.create_secret(Name="ss/channels/shop", SecretString=SECRET)
    tokens = SecretsManagerTokens(secrets_manager)
    assert tokens.read("ss/channels/shop") == SECRET
    tokens.write("ss/channels/shop", "EAAG-2")
    assert tokens.read("ss/channels/shop") == "EAAG-2"
    versions = secrets_manager.list_secret_version_ids(SecretId="ss/channels/shop")["Versions"]
    assert len(versions) == 2  # a new version, the old one kept by Secrets Manager


def test_the_fingerprint_changes_with_the_secret() -> None:
    assert fingerprint(SECRET) == fingerprint(SECRET)
    assert fingerprint(SECRET) != fingerprint(SECRET + " ")
    assert len(fingerprint(SECRET)) == 16


def test_a_secret_in_json_says_the_token_and_how_to_refresh_it() -> None:
    token = parse_token(SECRET, "shop")
    assert (token.access_token, token.refresh_token, token.expires_at) == ("EAAG-1", "r-1", 1.8e9)
    assert not token.can_refresh()  # no token_url
    assert "EAAG-1" not in repr(token) and "r-1" not in repr(token)


def test_a_plain_secret_is_just_an_access_token() -> None:
    token = parse_token("  xoxb-123\n", "shop")
    assert (token.access_token, token.refresh_token, token.expires_at) == ("xoxb-123", "", None)


@pytest.mark.parametrize("text", ['{"access_token": ', '{"refresh_token": "r-1"}', "{}"])
def test_a_broken_secret_is_refused_without_quoting_it(text: str) -> None:
    with pytest.raises(TokenRejected, match="shop") as raised:
        parse_token(text, "shop")
    assert "r-1" not in str(raised.value)


def test_a_renewed_secret_keeps_what_the_answer_did_not_give() -> None:
    stored = {"access_token": "a", "refresh_token": "r", "token_url": "https://t", "page": "x"}
    token = parse_token(json.dumps(stored), "shop")
    renewed = json.loads(token.renewed("b", "", 1.9e9))
    assert renewed == {**stored, "access_token": "b", "expires_at": 1.9e9}


def test_a_name_too_long_for_a_file_is_still_one_file_of_its_own(tmp_path: Path) -> None:
    tokens = FileTokens(tmp_path)
    long, longer = "ss/channels/" + "é" * 200, "ss/channels/" + "é" * 201
    tokens.write(long, "a")
    tokens.write(longer, "b")
    assert (tokens.read(long), tokens.read(longer)) == ("a", "b")
