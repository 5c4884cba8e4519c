"""Small, readable HTML pages for people who follow a link from an email or a text message.

They work on a phone, need no JavaScript, and escape everything they show.
"""

from __future__ import annotations

from datetime import date
from html import escape

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:1.5rem;
background:#f6f7f9;color:#1d2329;line-height:1.5}
main{max-width:32rem;margin:0 auto;background:#fff;border-radius:12px;padding:1.5rem;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin-top:0}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input[type=date],input[type=text]{font-size:1.1rem;padding:.5rem;width:100%;
box-sizing:border-box}
button{margin-top:1.25rem;font-size:1.1rem;padding:.8rem 1.2rem;width:100%;border:0;
border-radius:8px;background:#1a6b43;color:#fff}
.note{color:#5b6670;font-size:.9rem}
"""


def page(title: str, message: str, form_html: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1><p>{escape(message)}</p>{form_html}</main></body>"
        "</html>\n"
    )


def confirm_form(
    action_url: str,
    token: str,
    button: str,
    date_label: str | None = None,
    date_default: date | None = None,
    date_min: date | None = None,
    date_max: date | None = None,
    fields: tuple[tuple[str, str], ...] = (),
) -> str:
    """A POST form: the only way a link changes anything."""
    date_input = ""
    if date_label:
        attributes = "".join(
            f' {name}="{value.isoformat()}"'
            for name, value in (("value", date_default), ("min", date_min), ("max", date_max))
            if value is not None
        )
        date_input = (
            f'<label for="date">{escape(date_label)}</label>'
            f'<input type="date" id="date" name="date" required{attributes}>'
        )
    text_inputs = "".join(
        f'<label for="f-{escape(name)}">{escape(name.replace("_", " "))}</label>'
        f'<input type="text" id="f-{escape(name)}" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields
    )
    return (
        f'<form method="post" action="{escape(action_url)}">'
        f'<input type="hidden" name="t" value="{escape(token)}">{date_input}{text_inputs}'
        f'<button type="submit">{escape(button)}</button></form>'
        '<p class="note">Nothing changes until you press the button.</p>'
    )


def post_button(action_url: str, token: str, label: str, fields: dict[str, str]) -> str:
    """One answer as its own small form (no JavaScript)."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return (
        f'<form method="post" action="{escape(action_url)}">'
        f'<input type="hidden" name="t" value="{escape(token)}">{hidden}'
        f'<button type="submit">{escape(label)}</button></form>'
    )


def link_button(url: str, label: str) -> str:
    return (
        f'<p><a href="{escape(url)}" style="display:block;text-align:center;padding:.8rem;'
        f'border:2px solid #1a6b43;border-radius:8px;color:#1a6b43;text-decoration:none">'
        f"{escape(label)}</a></p>"
    )
