"""A post's image with Pillow: its real type from the bytes, and its rendering for a channel,
cached by content hash among the blobs (embedded backend) or on S3 (AWS).

Only the formats a shop's photos come in are opened: Pillow's other readers are attack surface
a post does not need (EPS, for one, hands the file to Ghostscript). An animation renders as its
first frame.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from typing import Any, Protocol

from attrs import frozen
from PIL import Image, ImageFile, ImageOps

from backoffice.ports import Blobs, ImageFacts, Picture

READABLE = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")  # MPO comes through JPEG
# Pillow's limit (Image.MAX_IMAGE_PIXELS, ~89 MP) only warns below twice itself, and a decoded
# 89 MP picture alone outgrows a 256 MB function; 50 MP still takes a 48 MP phone photo.
MAX_PIXELS = 50_000_000
QUALITIES = (90, 80, 70, 60)
SHRINK = 0.8
BLOB_PREFIX = "render-cache"  # where the embedded backend keeps renderings among its files
MIN_SIDE = 64  # smaller is an icon, not a picture a channel would show


class RenderCache(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def url(self, key: str) -> str:
        """A short-lived link the platform can fetch the rendering from."""


class PillowImages:
    def __init__(self, cache: RenderCache) -> None:
        self.cache = cache

    def inspect(self, body: bytes) -> ImageFacts:
        try:
            return _facts(body)
        # Malformed bytes raise a zoo from Pillow's decoders (OSError, SyntaxError, EOFError,
        # struct.error, ValueError, ...): every one of them means "not an image we can read".
        except Exception:
            return ImageFacts("", len(body))

    def render(self, body: bytes, content_type: str, max_bytes: int, max_side: int) -> Picture:
        encoding = _encoding(content_type)
        if max_bytes < 1 or max_side < 1:
            raise ValueError(f"limits must be positive: {max_bytes} bytes, {max_side} px")
        key = render_key(body, content_type, max_bytes, max_side)
        rendered = self.cache.get(key)
        if rendered is None:
            rendered = _fitted(_upright(body, max_side, encoding.keeps_alpha), encoding, max_bytes)
            self.cache.put(key, rendered, content_type)
        return Picture(body=rendered, content_type=content_type, url=self.cache.url(key))


def render_key(body: bytes, content_type: str, max_bytes: int, max_side: int) -> str:
    """The rendering's cache key: the same image asked for the same way renders the same.
    The body's own digest comes first, fixed-length, so no body can pass for other limits."""
    limits = json.dumps([content_type, max_bytes, max_side]).encode()
    return hashlib.sha256(hashlib.sha256(body).digest() + limits).hexdigest()


class BlobRenderCache:
    """Renderings among the embedded backend's blobs, served at <public_base>/ss/render/<key>.
    The Blobs port keeps no content type: whatever serves them types them from their bytes."""

    def __init__(self, blobs: Blobs, public_base: str) -> None:
        self.blobs = blobs
        self.public_base = public_base.rstrip("/")

    def get(self, key: str) -> bytes | None:
        blob = self.blobs.get(f"{BLOB_PREFIX}/{key}")
        return None if blob is None else blob.body

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.blobs.put(f"{BLOB_PREFIX}/{key}", body)

    def url(self, key: str) -> str:
        return f"{self.public_base}/ss/render/{key}"


class S3RenderCache:
    """Renderings on S3 under renders/, linked by presigned GET. A link signed with a role's
    session credentials dies with them, possibly before `expires`: the platform fetches it at
    once, so that is enough."""

    def __init__(self, client: Any, bucket: str, expires: timedelta = timedelta(hours=1)) -> None:
        self.client = client
        self.bucket = bucket
        self.expires = expires
        client.meta.events.register_first(
            "choose-signer.s3.GetObject", _presign_as_requests_are_signed, unique_id=__name__
        )

    def get(self, key: str) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=f"renders/{key}")
        except self.client.exceptions.NoSuchKey:
            return None
        return bytes(response["Body"].read())

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=f"renders/{key}", Body=body, ContentType=content_type
        )

    def url(self, key: str) -> str:
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": f"renders/{key}"},
                ExpiresIn=int(self.expires.total_seconds()),
            )
        )


def _presign_as_requests_are_signed(signature_version: str, **_: Any) -> str | None:
    """Unless told otherwise, botocore presigns S3 links with Signature Version 2, which
    buckets created since mid-2020 refuse: a presigned link gets the client's own version
    (SigV4), and this answer, coming first, keeps botocore's default from downgrading it."""
    return signature_version if signature_version.endswith("-query") else None


@frozen
class _Encoding:
    pillow_format: str
    keeps_alpha: bool
    lossy: bool

    def attempts(self) -> list[dict[str, Any]]:
        """Save options to try in turn, best picture first."""
        if self.lossy:
            return [{"quality": quality, "optimize": True} for quality in QUALITIES]
        return [{"optimize": True}]


ENCODINGS = {
    "image/jpeg": _Encoding("JPEG", keeps_alpha=False, lossy=True),
    "image/png": _Encoding("PNG", keeps_alpha=True, lossy=False),
    "image/webp": _Encoding("WEBP", keeps_alpha=True, lossy=True),
    "image/gif": _Encoding("GIF", keeps_alpha=True, lossy=False),
}


def _encoding(content_type: str) -> _Encoding:
    """How to write `content_type`, when this Pillow can (WebP needs libwebp in its build)."""
    Image.init()
    writable = {kind: e for kind, e in ENCODINGS.items() if e.pillow_format in Image.SAVE}
    if content_type not in writable:
        raise ValueError(f"cannot write {content_type!r}: writes {', '.join(writable)}")
    return writable[content_type]


def _opened(body: bytes) -> ImageFile.ImageFile:
    """The image with only its header read, refused before any decoding when it is a
    decompression bomb (Pillow itself raises only at twice its own limit)."""
    image = Image.open(BytesIO(body), formats=_readable())
    if image.width * image.height > _pixel_limit():
        image.close()
        raise Image.DecompressionBombError(f"{image.width}x{image.height} px is too many")
    return image


def _readable() -> list[str]:
    """READABLE as far as this Pillow reads them (AVIF came in 11.2): an unknown name given
    to Image.open fails every open."""
    Image.init()
    return [name for name in READABLE if name in Image.OPEN]


def _pixel_limit() -> int:
    """MAX_PIXELS, or Pillow's limit when set lower: what it only warns about is refused too."""
    return min(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_PIXELS)


def _mime(image: ImageFile.ImageFile) -> str:
    # An MPO (phones' multi-picture and Ultra HDR photos) is a JPEG to anyone but Pillow.
    return "image/jpeg" if image.format == "MPO" else Image.MIME.get(image.format or "", "")


def _facts(body: bytes) -> ImageFacts:
    with _opened(body) as image:
        image.verify()  # checksums (PNG's CRCs) that decoding skips
    with _opened(body) as image:
        facts = ImageFacts(_mime(image), len(body), image.width, image.height)
        # Only decoding finds a truncated JPEG out; at 1/8 scale it costs 1/64 of the memory.
        image.draft(None, (1, 1))
        image.load()
    return facts


def _upright(body: bytes, max_side: int, keeps_alpha: bool) -> Image.Image:
    """The picture as it was shot, at most `max_side` on its longer side, as bare pixels."""
    try:
        with _opened(body) as image:
            image.draft(None, (max_side, max_side))  # a JPEG decodes straight to near size
            profile = image.info.get("icc_profile") if image.mode in ("RGB", "RGBA") else None
            working = image.convert("RGBA" if image.has_transparency_data else "RGB")
        working.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        upright = ImageOps.exif_transpose(working)
    except Exception as error:  # the same zoo as inspect's, and a malformed EXIF's
        raise ValueError("the body is not an image Pillow can read whole") from error
    return _bare(upright, keeps_alpha, profile)


def _bare(image: Image.Image, keeps_alpha: bool, profile: bytes | None) -> Image.Image:
    """The pixels alone on a new image, so no EXIF, GPS, XMP, comment or text chunk of the
    original can reach the output. The colour profile stays: it is colour, not metadata, and
    a phone's Display P3 photo looks washed out without it. Without alpha, transparent parts
    go white, as on a page."""
    if image.mode == "RGBA" and keeps_alpha:
        bare = Image.new("RGBA", image.size)
        bare.paste(image)
    else:
        bare = Image.new("RGB", image.size, "white")
        bare.paste(image, mask=image if image.mode == "RGBA" else None)
    if profile:
        bare.info["icc_profile"] = profile
    return bare


def _sides(longest: int) -> Iterator[int]:
    """The longer sides to try: the picture's own, then each 0.8 of the last, to MIN_SIDE."""
    side = longest
    yield side
    while (side := int(side * SHRINK)) >= MIN_SIDE:
        yield side


def _fitted(image: Image.Image, encoding: _Encoding, max_bytes: int) -> bytes:
    """The best picture within `max_bytes`: the highest quality at the largest side that fits."""
    for side in _sides(max(image.size)):
        smaller = _scaled(image, side)
        for options in encoding.attempts():
            encoded = _encoded(smaller, encoding.pillow_format, options)
            if len(encoded) <= max_bytes:
                return encoded
    raise ValueError(
        f"cannot fit the image in {max_bytes} bytes as {encoding.pillow_format} "
        f"without shrinking it below {MIN_SIDE} px"
    )


def _scaled(image: Image.Image, side: int) -> Image.Image:
    if side >= max(image.size):
        return image
    smaller = image.copy()
    smaller.thumbnail((side, side), Image.Resampling.LANCZOS)
    return smaller


def _encoded(image: Image.Image, pillow_format: str, options: dict[str, Any]) -> bytes:
    out = BytesIO()
    image.save(out, pillow_format, icc_profile=image.info.get("icc_profile"), **options)
    return out.getvalue()
