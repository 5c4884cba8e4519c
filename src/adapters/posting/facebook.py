"""A Facebook Page post through the Graph API. The channel's endpoint is the page's feed
(`https://graph.facebook.com/v21.0/PAGE_ID/feed`): text goes there; a post with a picture goes
to the page's /photos edge instead, which uploads the image and posts it with its caption."""

from __future__ import annotations

import mimetypes

from backoffice.adapters.posting.graph import graph_post
from backoffice.adapters.posting.platform import Reach, where
from backoffice.ports.posting import Picture, Posted, PostRefused, Publication

POST_URL = "https://www.facebook.com/{}"


def publish(publication: Publication, token: str, reach: Reach) -> Posted:
    feed = _feed(publication)
    picture = publication.picture
    if picture is None:
        fields = {"message": publication.text, "access_token": token}
        answer = graph_post(reach.http, feed, publication, fields)
        return _posted(str(answer.get("id", "")))
    fields = {"caption": publication.text, "access_token": token}
    photos = feed.removesuffix("/feed") + "/photos"
    answer = graph_post(reach.http, photos, publication, fields, {"source": _upload(picture)})
    # /photos answers the photo's id and the page post's: the post is what the owner opens.
    return _posted(str(answer.get("post_id") or answer.get("id", "")))


def _feed(publication: Publication) -> str:
    feed = publication.channel.endpoint.rstrip("/")
    if not feed.endswith("/feed"):
        raise PostRefused(f"{where(publication)}: its endpoint must be the page's /feed URL")
    return feed


def _upload(picture: Picture) -> tuple[str, bytes, str]:
    extension = mimetypes.guess_extension(picture.content_type) or ""
    return f"picture{extension}", picture.body, picture.content_type


def _posted(post_id: str) -> Posted:
    return Posted(post_id, POST_URL.format(post_id) if post_id else "")
