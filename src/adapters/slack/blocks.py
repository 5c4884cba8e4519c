"""Slack messages as Block Kit, built with slack_sdk's models (imported only here)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from backoffice.ports import ChatMessage

SECTION_LIMIT = 3000


def message_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=message.text[:SECTION_LIMIT]))]
    if message.buttons:
        elements = []
        for button in message.buttons:
            if button.value:
                elements.append(
                    ButtonElement(text=button.label, action_id=button.action, value=button.value)
                )
            else:
                elements.append(
                    ButtonElement(text=button.label, action_id=button.action, url=button.url)
                )
        blocks.append(ActionsBlock(elements=elements))
    return [block.to_dict() for block in blocks]


def resolved_blocks(text: str) -> list[dict[str, Any]]:
    """The message after someone answered: the outcome, and no buttons left to press."""
    return [SectionBlock(text=MarkdownTextObject(text=text[:SECTION_LIMIT])).to_dict()]
