"""What an image really is, as the adapter that reads its bytes reports it: the one value the
core decides image checks with, kept apart so the ports need no system's core to name it."""

from __future__ import annotations

from attrs import frozen


@frozen
class ImageFacts:
    """Read from the image's bytes, never from its file name."""

    content_type: str  # "" when the bytes are no image
    size: int  # bytes
    width: int = 0
    height: int = 0
