"""Slack messages as Block Kit, built with slack_sdk's models (imported only here)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from backoffice.core.sheet import is_slack_user
from backoffice.core.text import slack_escaped
from backoffice.ports import ChatMessage

SECTION_LIMIT = 3000


EMPTY = "(no text)"  # Slack refuses a section without text


def message_text(message: ChatMessage) -> str:
    """The message as mrkdwn: its own text escaped, the title in bold."""
    body = slack_escaped(message.text).strip() or EMPTY
    title = slack_escaped(message.title).strip()
    return f"*{title}*\n{body}" if title else body


def update_text(text: str, by: str) -> str:
    """An answered message: what happened, and who (a mention only for a real member id)."""
    who = f" (<@{by}>)" if is_slack_user(by) else ""
    return (slack_escaped(text).strip() or EMPTY) + who


def message_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    section = MarkdownTextObject(text=message_text(message)[:SECTION_LIMIT])
    blocks: list[Any] = [SectionBlock(text=section)]
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
    """The message after someone answered (already mrkdwn): no buttons left to press."""
    return [SectionBlock(text=MarkdownTextObject(text=text[:SECTION_LIMIT])).to_dict()]


def date_modal(
    callback_id: str, title: str, label: str, submit: str, initial: str | None, metadata: str
) -> dict[str, Any]:
    """A modal asking for one date (Renew: the new expiry; Snooze: until when)."""
    from slack_sdk.models.blocks import DatePickerElement, InputBlock

    picker = DatePickerElement(action_id="date", initial_date=initial)
    block = InputBlock(block_id="date_block", label=label, element=picker)
    return _modal(callback_id, title, submit, metadata, [block])


def fields_modal(
    callback_id: str, title: str, submit: str, fields: tuple[tuple[str, str], ...], metadata: str
) -> dict[str, Any]:
    """A modal with one text input per field, filled in with the current values."""
    from slack_sdk.models.blocks import InputBlock, PlainTextInputElement

    blocks = [
        InputBlock(
            block_id=name,
            label=name.replace("_", " ")[:2000],
            optional=True,
            element=PlainTextInputElement(action_id="value", initial_value=value or None),
        )
        for name, value in fields
    ]
    return _modal(callback_id, title, submit, metadata, blocks)


def _modal(
    callback_id: str, title: str, submit: str, metadata: str, blocks: list[Any]
) -> dict[str, Any]:
    """Slack cuts modal titles at 24 characters; the metadata carries the link's token."""
    from slack_sdk.models.views import View

    view = View(
        type="modal",
        callback_id=callback_id,
        title=title[:24],
        submit=submit,
        close="Cancel",
        private_metadata=metadata,
        blocks=blocks,
    )
    return view.to_dict()
