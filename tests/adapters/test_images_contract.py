"""PillowImages: the real type from the bytes, and renderings within a channel's limits, cached
by content hash. The render cache is a contract run over the blobs (the embedded backend's
folder) and S3 (moto, in process)."""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from conftest import REGION, aws
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from backoffice.adapters import images
from backoffice.adapters.images import (
    BlobRenderCache,
    PillowImages,
    RenderCache,
    S3RenderCache,
    render_key,
)
from backoffice.adapters.local.storage import FolderBlobs
from backoffice.ports import ImageFacts

TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
BUCKET = "ss-renders"
ORIENTATION = ExifTags.Base.Orientation
ROTATE_90_CW = 6  # "rotate the stored picture 90° clockwise to show it"
# Pillow reads this, by handing it to Ghostscript: a post's image never goes that far.
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n%%EOF\n"


def picture(
    pillow_format: str,
    size: tuple[int, int] = (120, 80),
    mode: str = "RGB",
    colour: Any = "teal",
    **options: Any,
) -> bytes:
    out = BytesIO()
    Image.new(mode, size, colour).save(out, pillow_format, **options)
    return out.getvalue()


def noise(size: tuple[int, int]) -> Image.Image:
    """Incompressible pixels, so fitting a byte limit has to shrink the picture (the same ones
    every run: Hypothesis replays what it found)."""
    return Image.frombytes("RGB", size, random.Random(0).randbytes(size[0] * size[1] * 3))


def encoded(image: Image.Image, pillow_format: str, **options: Any) -> bytes:
    out = BytesIO()
    image.save(out, pillow_format, **options)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` in a few dozen bytes: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def shot_sideways() -> bytes:
    """A JPEG stored wide (red left, blue right) that its camera marks to be shown turned 90°
    clockwise, with the camera's make and where it was taken."""
    stored = Image.new("RGB", (200, 100), "blue")
    stored.paste("red", (0, 0, 100, 100))
    exif = Image.Exif()
    exif[ORIENTATION] = ROTATE_90_CW
    exif[ExifTags.Base.Make] = "SnoopCam"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (40.0, 26.0, 46.0), 3: "W", 4: (79.0, 58.0, 56.0)}
    return encoded(stored, "JPEG", exif=exif, quality=95)


def real_type(body: bytes) -> str:
    with Image.open(BytesIO(body)) as image:
        return Image.MIME[image.format or ""]


def longer_side(body: bytes) -> int:
    with Image.open(BytesIO(body)) as image:
        return max(image.size)


# -- inspect -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (picture("JPEG"), "image/jpeg"),
        (picture("PNG"), "image/png"),
        (picture("GIF"), "image/gif"),
        (picture("WEBP"), "image/webp"),
        (picture("BMP"), "image/bmp"),
        (picture("PNG", mode="RGBA", colour=(0, 0, 0, 0)), "image/png"),
    ],
    ids=["jpeg", "png", "gif", "webp", "bmp", "transparent-png"],
)
def test_inspect_reads_the_type_and_size_from_the_bytes(body: bytes, expected: str) -> None:
    assert PillowImages(MemoryCache()).inspect(body) == ImageFacts(expected, len(body), 120, 80)


def test_a_png_named_jpg_is_a_png() -> None:
    # Only bytes reach inspect: "photo.jpg" could never make these a JPEG.
    body = picture("PNG")
    assert PillowImages(MemoryCache()).inspect(body).content_type == "image/png"


def test_a_phones_multi_picture_jpeg_is_a_jpeg() -> None:
    first, depth = Image.new("RGB", (120, 80), "teal"), Image.new("RGB", (120, 80), "gray")
    body = encoded(first, "MPO", save_all=True, append_images=[depth])
    assert Image.open(BytesIO(body)).format == "MPO"
    assert PillowImages(MemoryCache()).inspect(body).content_type == "image/jpeg"


@pytest.mark.parametrize(
    "body",
    [
        b"Dear shop,\nhere is the photo.\n",
        b"",
        picture("JPEG", (400, 300))[:-400],
        picture("PNG", (400, 300))[:-40],
        png_header(100_000, 100_000),
        EPS,
    ],
    ids=["text", "empty", "truncated-jpeg", "truncated-png", "bomb-header", "eps"],
)
def test_what_is_no_readable_image_has_no_type(body: bytes) -> None:
    assert PillowImages(MemoryCache()).inspect(body) == ImageFacts("", len(body))


def test_our_pixel_limit_refuses_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    body = picture("PNG", (120, 80))
    monkeypatch.setattr(images, "MAX_PIXELS", 120 * 80 - 1)
    assert PillowImages(MemoryCache()).inspect(body).content_type == ""


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("limit", [120 * 80 - 1, 120 * 80 // 3], ids=["pillow-warns", "raises"])
def test_pillows_own_bomb_limit_is_obeyed(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    body = picture("JPEG", (120, 80))
    assert PillowImages(MemoryCache()).inspect(body).content_type == ""
    with pytest.raises(ValueError, match="not an image"):
        PillowImages(MemoryCache()).render(body, "image/jpeg", 100_000, 100)


# -- the render cache, over each backend ----------------------------------------------------


class MemoryCache:
    """A cache for the tests that are about the image, not about where it is kept."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.bodies.get(key)

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.bodies[key] = body

    def url(self, key: str) -> str:
        return f"memory:{key}"


class CountingCache:
    def __init__(self, inner: RenderCache) -> None:
        self.inner = inner
        self.puts = 0

    def get(self, key: str) -> bytes | None:
        return self.inner.get(key)

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.puts += 1
        self.inner.put(key, body, content_type)

    def url(self, key: str) -> str:
        return self.inner.url(key)


@pytest.fixture
def folder_cache(tmp_path: Path) -> BlobRenderCache:
    return BlobRenderCache(FolderBlobs(tmp_path), "https://shop.example/")


@pytest.fixture
def s3() -> Iterator[Any]:
    with aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def s3_cache(s3: Any) -> S3RenderCache:
    return S3RenderCache(s3, BUCKET)


@pytest.fixture(params=["folder", "s3"])
def cache(request: pytest.FixtureRequest) -> RenderCache:
    cache: RenderCache = request.getfixturevalue(f"{request.param}_cache")
    return cache


KEY = render_key(b"photo", "image/jpeg", 1_000_000, 1080)


def test_cache_misses_then_holds_what_was_put(cache: RenderCache) -> None:
    assert cache.get(KEY) is None
    cache.put(KEY, b"rendered", "image/jpeg")
    assert cache.get(KEY) == b"rendered"
    assert cache.get(render_key(b"photo", "image/png", 1_000_000, 1080)) is None


def test_cache_links_to_the_key(cache: RenderCache) -> None:
    assert KEY in cache.url(KEY)


def test_blob_cache_keeps_renders_in_their_folder(tmp_path: Path) -> None:
    cache = BlobRenderCache(FolderBlobs(tmp_path), "https://shop.example/")
    cache.put(KEY, b"rendered", "image/jpeg")
    assert (tmp_path / "render-cache" / KEY).read_bytes() == b"rendered"
    assert cache.url(KEY) == f"https://shop.example/ss/render/{KEY}"


def test_s3_cache_keeps_the_type_and_presigns_a_short_sigv4_link(s3: Any) -> None:
    # The client is botocore's default, which would presign with Signature Version 2.
    cache = S3RenderCache(s3, BUCKET, expires=timedelta(minutes=10))
    cache.put(KEY, b"rendered", "image/webp")
    assert s3.head_object(Bucket=BUCKET, Key=f"renders/{KEY}")["ContentType"] == "image/webp"
    link = urlsplit(cache.url(KEY))
    query = parse_qs(link.query)
    assert BUCKET in link.netloc + link.path and link.path.endswith(f"renders/{KEY}")
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Signature"]
    assert query["X-Amz-Expires"] == ["600"]


def test_a_second_render_comes_from_the_cache(cache: RenderCache) -> None:
    counting = CountingCache(cache)
    renderer = PillowImages(counting)
    body = shot_sideways()
    first = renderer.render(body, "image/jpeg", 200_000, 100)
    again = PillowImages(counting).render(body, "image/jpeg", 200_000, 100)
    assert counting.puts == 1 and again == first
    assert first.url == cache.url(render_key(body, "image/jpeg", 200_000, 100))
    renderer.render(body, "image/jpeg", 200_000, 90)  # other limits: another rendering
    assert counting.puts == 2


def test_render_key_changes_with_every_input() -> None:
    keys = {
        render_key(b"photo", "image/jpeg", 1000, 100),
        render_key(b"photo!", "image/jpeg", 1000, 100),
        render_key(b"photo", "image/png", 1000, 100),
        render_key(b"photo", "image/jpeg", 1001, 100),
        render_key(b"photo", "image/jpeg", 1000, 101),
    }
    assert len(keys) == 5 and all(len(key) == 64 for key in keys)


# -- render ---------------------------------------------------------------------------------

SOURCES: dict[str, Callable[[], bytes]] = {
    "jpeg": lambda: encoded(noise((640, 480)), "JPEG", quality=95),
    "png": lambda: encoded(noise((480, 640)), "PNG"),
    "gif": lambda: picture("GIF", (500, 300)),
    "webp": lambda: picture("WEBP", (300, 500)),
    "rgba-png": lambda: picture("PNG", (400, 400), "RGBA", (255, 0, 0, 128)),
    "palette-png": lambda: encoded(noise((300, 300)).convert("P"), "PNG"),
}


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize("content_type", TYPES)
def test_render_fits_the_limits_in_the_asked_type(source: str, content_type: str) -> None:
    rendered = PillowImages(MemoryCache()).render(SOURCES[source](), content_type, 40_000, 256)
    assert len(rendered.body) <= 40_000 and longer_side(rendered.body) <= 256
    assert real_type(rendered.body) == rendered.content_type == content_type


def test_render_shrinks_what_no_quality_fits() -> None:
    body = encoded(noise((1000, 1000)), "PNG")
    rendered = PillowImages(MemoryCache()).render(body, "image/png", 60_000, 1000).body
    assert len(rendered) <= 60_000 and 64 <= longer_side(rendered) < 1000


def test_render_turns_the_picture_upright_and_drops_exif_and_gps() -> None:
    body = shot_sideways()
    rendered = PillowImages(MemoryCache()).render(body, "image/jpeg", 200_000, 100).body
    with Image.open(BytesIO(rendered)) as image:
        assert image.size == (50, 100)  # shown tall, as the camera was held
        assert _reddish(image.getpixel((25, 10))) and not _reddish(image.getpixel((25, 90)))
        assert not image.getexif() and "exif" not in image.info
    assert b"SnoopCam" not in rendered and b"Exif" not in rendered


@pytest.mark.parametrize("content_type", TYPES)
def test_no_metadata_survives_in_any_type(content_type: str) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SnoopCam"
    body = picture("PNG", exif=exif, pnginfo=_text_chunk("Author", "SnoopCam"))
    rendered = PillowImages(MemoryCache()).render(body, content_type, 50_000, 100).body
    assert b"SnoopCam" not in rendered


def test_the_colour_profile_stays() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    body = picture("JPEG", icc_profile=srgb)
    rendered = PillowImages(MemoryCache()).render(body, "image/webp", 50_000, 100).body
    assert Image.open(BytesIO(rendered)).info.get("icc_profile") == srgb


def test_transparent_png_to_jpeg_goes_white_where_clear() -> None:
    clear = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    clear.paste((0, 0, 255, 255), (0, 0, 50, 100))
    rendered = PillowImages(MemoryCache()).render(encoded(clear, "PNG"), "image/jpeg", 50_000, 100)
    with Image.open(BytesIO(rendered.body)) as image:
        assert image.mode == "RGB"
        assert min(image.getpixel((90, 50))) > 240  # type: ignore[arg-type]
        assert image.getpixel((10, 50))[2] > 200  # type: ignore[index]


def test_render_refuses_clearly() -> None:
    renderer = PillowImages(MemoryCache())
    with pytest.raises(ValueError, match="cannot write 'image/tiff'"):
        renderer.render(picture("PNG"), "image/tiff", 50_000, 100)
    with pytest.raises(ValueError, match="not an image"):
        renderer.render(b"Dear shop", "image/jpeg", 50_000, 100)
    with pytest.raises(ValueError, match="cannot fit the image in 100 bytes"):
        renderer.render(encoded(noise((300, 300)), "PNG"), "image/png", 100, 300)
    with pytest.raises(ValueError, match="positive"):
        renderer.render(picture("PNG"), "image/png", 50_000, 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.tuples(st.integers(1, 400), st.integers(1, 400)),
    colour=st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    noisy=st.booleans(),
    source=st.sampled_from(["JPEG", "PNG", "GIF", "WEBP"]),
    content_type=st.sampled_from(TYPES),
    max_side=st.integers(16, 300),
    max_bytes=st.integers(20_000, 200_000),
)
def test_renders_always_fit_and_have_the_asked_type(
    size: tuple[int, int],
    colour: tuple[int, int, int],
    noisy: bool,
    source: str,
    content_type: str,
    max_side: int,
    max_bytes: int,
) -> None:
    plain = Image.new("RGB", size, colour)
    body = encoded(Image.blend(plain, noise(size), 0.5) if noisy else plain, source)
    rendered = PillowImages(MemoryCache()).render(body, content_type, max_bytes, max_side)
    assert len(rendered.body) <= max_bytes and longer_side(rendered.body) <= max_side
    assert PillowImages(MemoryCache()).inspect(rendered.body).content_type == content_type


def _reddish(pixel: Any) -> bool:
    red, green, blue = pixel
    return bool(red > 200 and green < 60 and blue < 60)


def _text_chunk(key: str, value: str) -> PngInfo:
    info = PngInfo()
    info.add_text(key, value)
    return info
