from __future__ import annotations

from datetime import datetime

import boto3
import pytest
from botocore.stub import Stubber
from models import Scripted
from world import NY, World

from backoffice.adapters.aws.model import BedrockModel
from backoffice.adapters.local.model import NoModel
from backoffice.services import expiry_watcher as service

FIRST_MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=NY)


def november_world() -> World:
    world = World(
        [["LIC-1", "Licence", "2026-12-01", "maria@example.com", "", ""]],
        datetime(2026, 11, 10, 8, 0, tzinfo=NY),
    )
    world.run_day()
    world.clock.set(FIRST_MONDAY)
    return world


def test_the_model_writes_the_paragraph_over_the_facts() -> None:
    world = november_world()
    model = Scripted("In November the licence alert went out and is waiting for an answer. " * 2)
    [delivery] = service.summary(world.ports, world.settings, model)
    assert delivery.status == "sent"
    [prompt] = model.prompts
    assert "2026-11-10" in prompt and "Licence" in prompt and "first alert" in prompt
    [mail] = [e for e in world.mailer.sent if "in summary" in e.subject]
    assert mail.subject == "Expiry watcher: November 2026 in summary"
    assert mail.text.startswith("In November") and "The facts behind it" in mail.text
    assert service.summary(world.ports, world.settings, model) == []  # once per month


@pytest.mark.parametrize("model", [NoModel(), Scripted(""), Scripted("ok")])
def test_a_failing_or_empty_model_falls_back_to_the_table(model: object) -> None:
    world = november_world()
    [delivery] = service.summary(world.ports, world.settings, model)  # type: ignore[arg-type]
    assert delivery.status == "sent"
    [mail] = [e for e in world.mailer.sent if "in summary" in e.subject]
    assert mail.text.startswith("(The written summary is unavailable this month")
    assert "Messages sent 2026-11-01 to 2026-11-30 (1)" in mail.text


def test_bedrock_converse_request_and_text() -> None:
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    model = BedrockModel(client, "global.anthropic.claude-haiku-4-5-20251001-v1:0")
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            {
                "output": {
                    "message": {"role": "assistant", "content": [{"text": " A quiet month. "}]}
                },
                "stopReason": "end_turn",
                "usage": {"inputTokens": 10, "outputTokens": 4, "totalTokens": 14},
                "metrics": {"latencyMs": 100},
            },
            expected_params={
                "modelId": "global.anthropic.claude-haiku-4-5-20251001-v1:0",
                "system": [{"text": "be brief"}],
                "messages": [{"role": "user", "content": [{"text": "facts"}]}],
                "inferenceConfig": {"maxTokens": 600, "temperature": 0.2},
            },
        )
        assert model.complete("be brief", "facts") == "A quiet month."
        stub.add_client_error("converse", "ThrottlingException", http_status_code=429)
        with pytest.raises(client.exceptions.ThrottlingException):
            model.complete("be brief", "facts")
