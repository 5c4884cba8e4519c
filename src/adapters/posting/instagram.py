"""An Instagram post through the Graph API's content publishing: a media container made from
the picture's URL (Instagram fetches the image itself), then published. The channel's endpoint
is the Instagram user node (`https://graph.facebook.com/v21.0/IG_USER_ID`).

A publish refused after its container was made leaves that container unused (containers expire
after 24 hours) and a retry makes a new one. As on any platform, a publish whose answer never
came may have landed."""

from __future__ import annotations

from backoffice.adapters.posting.graph import graph_get, graph_post
from backoffice.adapters.posting.platform import ChannelBusy, Reach, where
from backoffice.ports.posting import Posted, PostRefused, Publication, TokenRejected


def publish(publication: Publication, token: str, reach: Reach) -> Posted:
    user = publication.channel.endpoint.rstrip("/").removesuffix("/media")
    fields = {"image_url": _image_url(publication), "caption": publication.text}
    made = graph_post(reach.http, f"{user}/media", publication, _with(fields, token))
    if not made.get("id"):
        raise ChannelBusy(f"{where(publication)}: Instagram made no media container")
    creation = {"creation_id": str(made["id"])}
    published = graph_post(
        reach.http, f"{user}/media_publish", publication, _with(creation, token), {}
    )
    media_id = str(published.get("id", ""))
    return Posted(media_id, _permalink(publication, reach, user, media_id, token))


def _image_url(publication: Publication) -> str:
    picture = publication.picture
    if picture is None or not picture.url:
        raise PostRefused(f"{where(publication)}: an Instagram post needs a picture at a URL")
    return picture.url


def _permalink(publication: Publication, reach: Reach, user: str, media_id: str, token: str) -> str:
    """The post's link, or "" when Graph will not say: the post is published by now, and a
    failure here must not make the caller retry and publish it again."""
    if not media_id:
        return ""
    node = f"{user.rsplit('/', 1)[0]}/{media_id}"
    try:
        answer = graph_get(reach.http, node, publication, token, "permalink")
    except (ChannelBusy, PostRefused, TokenRejected):
        return ""
    return str(answer.get("permalink", ""))


def _with(fields: dict[str, str], token: str) -> dict[str, str]:
    return {**fields, "access_token": token}
