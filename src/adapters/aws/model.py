"""A language model on Bedrock through the Converse API."""

from __future__ import annotations

from typing import Any


class BedrockModel:
    def __init__(self, client: Any, model_id: str, max_tokens: int = 600) -> None:
        self.client = client
        self.model_id = model_id
        self.max_tokens = max_tokens

    def complete(self, instructions: str, prompt: str) -> str:
        response = self.client.converse(
            modelId=self.model_id,
            system=[{"text": instructions}],
            messages=[{"role": "user", "content": [{"text": prompt}]}],
            inferenceConfig={"maxTokens": self.max_tokens, "temperature": 0.2},
        )
        blocks = response["output"]["message"]["content"]
        return "".join(block.get("text", "") for block in blocks).strip()
