"""Lambda entry points of the social scheduler (deploy/social-scheduler.yaml names them): the
daily scheduler, the sender, the review card's answers, the draft helper, template sync, the
digest and the recap, drive-sync of the sheet, the rules and the images."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import factories, metrics
from backoffice.handlers.logs import log
from backoffice.handlers.web import Request, Route, binary_response, text_response
from backoffice.ports import Ports
from backoffice.services import social_scheduler as ss


def _draft(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    """POST /ss/draft: a note and channels become one proposed post per channel."""
    secret = request.headers.get("x-webhook-secret", "")
    answer = ss.draft(ss.SYSTEM, ports, settings, secret, request.body)
    log("draft", status=answer.status, request_id=request.request_id)
    if answer.status == 401:  # the shortcut's shared secret did not match
        metrics.count(metrics.SIGNATURE_REJECTED)
    body = json.dumps(answer.body)
    return {
        "statusCode": answer.status,
        "headers": {"content-type": "application/json"},
        "body": body,
    }


def _template_sync(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    dropped = ss.template_sync(*factories.wired(ss.SYSTEM))
    log("template_sync", dropped=[d.post_id for d in dropped])
    return {"dropped": [d.post_id for d in dropped]}


def _render(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    """GET /ss/render/{key}: a cached rendering, for a platform that fetches a post's image
    itself (Instagram) from the embedded backend. Keys are content hashes: unguessable, and
    nothing but renderings is reachable here."""
    key = params["key"]
    from backoffice.adapters.images import BLOB_PREFIX

    blob = ports.blobs.get(f"{BLOB_PREFIX}/{key}") if _HASH.fullmatch(key) else None
    if blob is None or ports.images is None:
        return text_response(404, "Not found.")
    facts = ports.images.inspect(blob.body)
    return binary_response(blob.body, facts.content_type or "application/octet-stream")


_HASH = re.compile(r"[0-9a-f]{64}")
DRAFT = (Route("POST", ss.DRAFT_PATH, _draft),)
RENDER = (Route("GET", f"{ss.RENDER_PATH}/{{key}}", _render),)

scheduler = factories.tick(ss.SYSTEM)
sender = factories.dispatch(ss.SYSTEM)
digest = factories.reports(ss.SYSTEM)
recap = factories.summary(ss.SYSTEM)
drive_sync = factories.drive_sync(ss.SYSTEM)
template_sync = _template_sync
intake_draft_helper = factories.Http(ss.SYSTEM, DRAFT)
# The review card's links and Slack buttons, and the proposals' links; `backoffice serve`
# answers the draft helper on the same table.
HTTP = factories.http(ss.SYSTEM, (*DRAFT, *RENDER))
approve_handler = factories.http(ss.SYSTEM)
