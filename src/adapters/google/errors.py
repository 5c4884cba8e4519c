"""Google API calls with the client library's retries, and errors that name the file and call."""

from __future__ import annotations

from typing import Any

RETRIES = 3  # the client retries 429 and 5xx with exponential backoff


class GoogleApiError(RuntimeError):
    """A Google call that failed after its retries; says which call on which file, and why."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.status = status


def execute(request: Any, call: str, file_id: str) -> Any:
    from googleapiclient.errors import HttpError

    try:
        return request.execute(num_retries=RETRIES)
    except HttpError as error:
        status = getattr(error.resp, "status", None)
        raise GoogleApiError(
            f"{call} on {file_id} failed with HTTP {status}: {error.reason}",
            int(status) if status is not None else None,
        ) from None
