"""The Posting port's contract, for every channel kind against a local stand-in that answers as
its platform documents (tests/support/platforms.py), and for the outbox: a post lands once, in
the platform's shape, and every failure is said as the port says it: TokenRejected, PostRefused,
or an error worth retrying (ChannelBusy)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from attrs import evolve, frozen
from platforms import (
    CLIENT_ID,
    CLIENT_SECRET,
    IG_USER_ID,
    PAGE_ID,
    PAGE_TOKEN,
    REFRESH_TOKEN,
    WEBHOOK_SECRET,
    GraphStandIn,
    Reply,
    SlackPlatform,
    StandIn,
    TokenEndpoint,
    WebhookReceiver,
    meta_graph,
    slack_platform,
    token_endpoint,
    webhook_receiver,
)
from standins import SLACK_TOKEN

from backoffice.adapters.posting import ChannelBusy, ChannelPosting, FileTokens, OutboxPosting
from backoffice.ports.posting import (
    Channel,
    Picture,
    Posted,
    PostRefused,
    Publication,
    TokenRejected,
)

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
TEXT = "Spring sale: 20% off & a free <coffee> for @everyone"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
IMAGE_URL = "https://cdn.example.test/rendered/ab12cd.png?sig=xyz"
SECRETS = (PAGE_TOKEN, WEBHOOK_SECRET, SLACK_TOKEN, REFRESH_TOKEN, CLIENT_SECRET)


@frozen
class Case:
    kind: str
    standin: str  # "graph" | "webhook" | "slack" | "outbox"
    picture: bool
    link: str  # how the post's URL starts


CASES = {
    "facebook-text": Case("facebook-page", "graph", False, "https://www.facebook.com/"),
    "facebook-photo": Case("facebook-page", "graph", True, "https://www.facebook.com/"),
    "instagram": Case("instagram", "graph", True, "https://www.instagram.com/p/"),
    "webhook": Case("webhook", "webhook", False, "https://hooks.example.test/posts/"),
    "slack-text": Case("slack", "slack", False, "https://backoffice-test.slack.com/archives/"),
    "slack-photo": Case("slack", "slack", True, "https://backoffice-test.slack.com/files/"),
}
NETWORK = sorted(CASES)
EVERY = [*NETWORK, "outbox"]
OUTBOX = Case("facebook-page", "outbox", True, "file://")
TOKENS = {"graph": PAGE_TOKEN, "webhook": WEBHOOK_SECRET, "slack": SLACK_TOKEN, "outbox": ""}


class World:
    """The stand-ins, the channels' secrets in a folder, and adapters pointed at them."""

    def __init__(
        self,
        tmp: Path,
        graph: GraphStandIn,
        oauth: TokenEndpoint,
        webhook: WebhookReceiver,
        slack: SlackPlatform,
    ) -> None:
        self.tmp, self.graph, self.oauth, self.webhook, self.slack = (
            tmp,
            graph,
            oauth,
            webhook,
            slack,
        )
        self.secrets = FileTokens(tmp / "secrets")
        self.clients: list[httpx.Client] = []

    def standin(self, case: Case) -> StandIn:
        return {"graph": self.graph, "webhook": self.webhook, "slack": self.slack}[case.standin]

    def channel(self, case: Case) -> Channel:
        endpoints = {
            "facebook-page": self.graph.feed_url,
            "instagram": self.graph.ig_user_url,
            "webhook": self.webhook.url,
            "slack": self.slack.channel,
        }
        name = f"shop-{case.kind}"
        return Channel(name, case.kind, endpoints[case.kind], f"ss/channels/{name}")

    def publication(self, case: Case) -> Publication:
        picture = Picture(PNG, "image/png", IMAGE_URL) if case.picture else None
        channel = self.channel(case)
        return Publication(channel, "P-0007", TEXT, picture, f"ss:P-0007:{channel.name}:post")

    def store(self, case: Case, secret: dict[str, Any] | str | None = None) -> None:
        if secret is None:  # the usual secret: a JSON document for Meta, plain text elsewhere
            token = TOKENS[case.standin]
            secret = {"access_token": token} if case.standin == "graph" else token
        text = secret if isinstance(secret, str) else json.dumps(secret)
        self.secrets.write(self.channel(case).token_secret, text)

    def stored(self, case: Case) -> dict[str, Any]:
        return dict(json.loads(self.secrets.read(self.channel(case).token_secret)))

    def adapter(self, case: Case, timeout: float = 5.0) -> ChannelPosting | OutboxPosting:
        if case.standin == "outbox":
            return OutboxPosting(self.tmp / "outbox")
        self.clients.append(httpx.Client(timeout=httpx.Timeout(timeout)))
        return ChannelPosting(
            self.secrets, self.clients[-1], slack_base_url=self.slack.slack.base_url
        )

    def landed(self, case: Case) -> list[dict[str, Any]]:
        if case.standin == "outbox":
            files = sorted((self.tmp / "outbox").glob("*.json"))
            return [{"id": path.name, **json.loads(path.read_text())} for path in files]
        return self.standin(case).landed

    def publish(self, case: Case, **options: Any) -> Posted:
        self.store(case)
        return self.adapter(case, **options).publish(self.publication(case), NOW)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with (
        meta_graph() as graph,
        token_endpoint() as oauth,
        webhook_receiver() as hook,
        slack_platform() as slack,
    ):
        built = World(tmp_path, graph, oauth, hook, slack)
        yield built
        for client in built.clients:
            client.close()


def case_of(name: str) -> Case:
    return CASES.get(name, OUTBOX)


def assert_says_no_secret(error: BaseException) -> None:
    message = str(error)
    assert message
    for secret in SECRETS:
        assert secret not in message


# --- a post lands once --------------------------------------------------------------------------


@pytest.mark.parametrize("name", EVERY)
def test_a_post_lands_once_and_posted_names_it(world: World, name: str) -> None:
    case = case_of(name)
    posted = world.publish(case)
    [landed] = world.landed(case)
    assert posted.platform_id == landed["id"]
    assert posted.url.startswith(case.link)


@pytest.mark.parametrize("name", ["webhook", "outbox"])
def test_a_retry_with_the_same_key_lands_once(world: World, name: str) -> None:
    case = case_of(name)
    world.store(case)
    adapter, publication = world.adapter(case), world.publication(case)
    first = adapter.publish(publication, NOW)
    assert adapter.publish(publication, NOW + timedelta(minutes=5)) == first
    assert len(world.landed(case)) == 1


def test_a_facebook_text_post_is_the_feed_form(world: World) -> None:
    posted = world.publish(CASES["facebook-text"])
    [request] = world.graph.requests
    assert (request.method, request.path) == ("POST", f"/v21.0/{PAGE_ID}/feed")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {"message": TEXT, "access_token": PAGE_TOKEN}
    assert posted == Posted(f"{PAGE_ID}_9001", f"https://www.facebook.com/{PAGE_ID}_9001")


def test_a_facebook_photo_is_uploaded_multipart_to_photos(world: World) -> None:
    posted = world.publish(CASES["facebook-photo"])
    [request] = world.graph.requests
    assert (request.method, request.path) == ("POST", f"/v21.0/{PAGE_ID}/photos")
    assert request.multipart
    source = request.parts["source"]
    assert (source.filename, source.content_type, source.body) == ("picture.png", "image/png", PNG)
    assert request.form["caption"] == TEXT
    assert request.form["access_token"] == PAGE_TOKEN
    # The page post, not the photo: /photos answers both.
    assert posted.platform_id == f"{PAGE_ID}_9001" != world.graph.landed[0]["photo_id"]


def test_an_instagram_post_is_a_container_then_its_publication(world: World) -> None:
    posted = world.publish(CASES["instagram"])
    made, published, link = world.graph.requests
    assert made.path == f"/v21.0/{IG_USER_ID}/media"
    assert made.form == {"image_url": IMAGE_URL, "caption": TEXT, "access_token": PAGE_TOKEN}
    assert published.path == f"/v21.0/{IG_USER_ID}/media_publish"
    container = world.graph.landed[0]
    assert published.form["creation_id"].startswith("1789") and container["caption"] == TEXT
    assert (link.method, link.path, link.query) == (
        "GET",
        f"/v21.0/{posted.platform_id}",
        {"fields": "permalink"},
    )
    assert link.bearer == PAGE_TOKEN  # in a header: a token in a URL ends up in logs
    assert posted.url == world.graph.media[posted.platform_id]


@pytest.mark.parametrize("picture", [None, Picture(PNG, "image/png", url="")])
def test_an_instagram_post_needs_a_picture_at_a_url(world: World, picture: Any) -> None:
    case = CASES["instagram"]
    world.store(case)
    publication = world.publication(case)
    with pytest.raises(PostRefused, match="picture"):
        world.adapter(case).publish(evolve(publication, picture=picture), NOW)
    assert world.graph.requests == []


def test_a_webhook_post_is_json_signed_over_its_raw_bytes(world: World) -> None:
    case = CASES["webhook"]
    posted = world.publish(case)
    [request] = world.webhook.requests
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), request.body, "sha256").hexdigest()
    assert hmac.compare_digest(request.headers["x-backoffice-signature"], expected)
    assert request.headers["content-type"] == "application/json"
    publication = world.publication(case)
    assert request.headers["idempotency-key"] == publication.idempotency_key
    assert request.json == {
        "post_id": "P-0007",
        "text": TEXT,
        "channel": "shop-webhook",
        "idempotency_key": "ss:P-0007:shop-webhook:post",
        "image": None,
    }
    assert posted == Posted("evt_0001", "https://hooks.example.test/posts/1")


def test_a_webhook_post_with_a_picture_says_where_it_is(world: World) -> None:
    case = CASES["webhook"]
    world.store(case)
    publication = world.publication(CASES["instagram"])  # one with a picture
    channel = world.channel(case)
    publication = evolve(publication, channel=channel)
    world.adapter(case).publish(publication, NOW)
    image = world.webhook.requests[0].json["image"]
    assert image == {"content_type": "image/png", "url": IMAGE_URL}


def test_a_webhook_without_an_id_in_its_answer_is_known_by_the_key(world: World) -> None:
    case = CASES["webhook"]
    world.webhook.answer_next(Reply(204, b""))
    posted = world.publish(case)
    assert posted == Posted(world.publication(case).idempotency_key, "")


def test_a_slack_post_is_escaped_text_and_links_to_its_message(world: World) -> None:
    posted = world.publish(CASES["slack-text"])
    [post] = world.slack.slack.calls_of("chat.postMessage")
    assert post.args["channel"] == "C0POSTS0001"
    assert post.args["text"] == "Spring sale: 20% off &amp; a free &lt;coffee&gt; for @everyone"
    assert post.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"
    ts = world.slack.slack.posts[0][2]
    assert posted.platform_id == f"C0POSTS0001:{ts}"
    assert posted.url.endswith(f"/archives/C0POSTS0001/p{ts.replace('.', '')}")


def test_a_slack_picture_is_uploaded_and_shared_with_the_text(world: World) -> None:
    posted = world.publish(CASES["slack-photo"])
    methods = [call.method for call in world.slack.slack.calls]
    assert methods == ["files.getUploadURLExternal", "files.completeUploadExternal", "files.info"]
    [(file_id, upload)] = world.slack.slack.uploads.items()
    assert (upload["filename"], upload["length"], upload["body"]) == ("picture.png", len(PNG), PNG)
    [share] = world.slack.shares
    assert (share["channel"], share["file"]) == ("C0POSTS0001", file_id)
    assert share["comment"] == "Spring sale: 20% off &amp; a free &lt;coffee&gt; for @everyone"
    assert posted.platform_id == f"C0POSTS0001:{file_id}"
    assert posted.url.endswith(f"/{file_id}/picture.png")


def test_a_link_slack_will_not_give_leaves_the_post_posted(world: World) -> None:
    world.slack.slack.fail_next("chat.getPermalink", "internal_error", status=500)
    posted = world.publish(CASES["slack-text"])
    assert posted.url == "" and posted.platform_id.startswith("C0POSTS0001:")
    assert len(world.slack.landed) == 1


def test_the_outbox_file_says_what_the_channel_would_receive(world: World) -> None:
    case = OUTBOX
    posted = world.publish(case)
    path = world.tmp / "outbox" / "P-0007-shop-facebook-page.json"
    assert posted == Posted(path.name, path.resolve().as_uri())
    assert json.loads(path.read_text()) == {
        "channel": "shop-facebook-page",
        "kind": "facebook-page",
        "endpoint": world.graph.feed_url,
        "post_id": "P-0007",
        "text": TEXT,
        "image": {
            "content_type": "image/png",
            "bytes": len(PNG),
            "sha256": hashlib.sha256(PNG).hexdigest(),
        },
        "idempotency_key": "ss:P-0007:shop-facebook-page:post",
    }
    assert OutboxPosting(world.tmp).token_version(world.channel(case)) == "outbox"


def test_another_key_for_the_same_post_gets_a_file_of_its_own(world: World) -> None:
    case = OUTBOX
    adapter = world.adapter(case)
    first = adapter.publish(world.publication(case), NOW)
    again = evolve(world.publication(case), idempotency_key="other")
    assert adapter.publish(again, NOW).platform_id != first.platform_id
    assert len(world.landed(case)) == 2


# --- failures, as the port says them ------------------------------------------------------------


@pytest.mark.parametrize("name", NETWORK)
def test_a_revoked_token_is_token_rejected(world: World, name: str) -> None:
    case = CASES[name]
    world.standin(case).revoke()
    with pytest.raises(TokenRejected) as raised:
        world.publish(case)
    assert_says_no_secret(raised.value)
    assert world.landed(case) == []


@pytest.mark.parametrize("failure", ["rate_limit_next", "break_next"])
@pytest.mark.parametrize("name", NETWORK)
def test_rate_limits_and_server_errors_are_worth_retrying(
    world: World, name: str, failure: str
) -> None:
    case = CASES[name]
    getattr(world.standin(case), failure)()
    with pytest.raises(ChannelBusy) as raised:
        world.publish(case)
    assert not isinstance(raised.value, TokenRejected | PostRefused)
    assert_says_no_secret(raised.value)


@pytest.mark.parametrize("name", NETWORK)
def test_a_refusal_is_post_refused_in_the_platforms_words(world: World, name: str) -> None:
    case = CASES[name]
    words = world.standin(case).refuse_next()
    with pytest.raises(PostRefused) as raised:
        world.publish(case)
    assert words in str(raised.value)
    assert_says_no_secret(raised.value)


@pytest.mark.parametrize("name", NETWORK)
def test_a_platform_that_does_not_answer_in_time_is_worth_retrying(world: World, name: str) -> None:
    case = CASES[name]
    world.standin(case).delay_next(1.6)  # Slack's client counts whole seconds: 1 s here
    with pytest.raises(ChannelBusy) as raised:
        world.publish(case, timeout=0.3)
    assert_says_no_secret(raised.value)


def test_a_platform_quoting_the_token_back_never_gets_it_into_a_message(world: World) -> None:
    world.graph.echo_token, case = True, CASES["facebook-text"]
    world.graph.revoke()
    with pytest.raises(TokenRejected) as raised:
        world.publish(case)
    assert "[secret]" in str(raised.value)
    assert_says_no_secret(raised.value)


def test_a_rate_limit_graph_sends_as_http_400_is_still_a_rate_limit(world: World) -> None:
    from platforms import graph_error

    world.graph.answer_next(graph_error("(#613) Calls to this api have exceeded the limit", 613))
    with pytest.raises(ChannelBusy, match="613"):
        world.publish(CASES["facebook-text"])


def test_a_channel_without_a_secret_is_token_rejected(world: World) -> None:
    case = CASES["facebook-text"]
    adapter = world.adapter(case)
    assert adapter.token_version(world.channel(case)) == "absent"
    with pytest.raises(TokenRejected, match="no token"):
        adapter.publish(world.publication(case), NOW)


def test_a_kind_no_module_posts_to_is_post_refused(world: World) -> None:
    case = CASES["facebook-text"]
    world.store(case)
    publication = world.publication(case)
    channel = Channel("shop-tt", "tiktok", "https://x", publication.channel.token_secret)
    with pytest.raises(PostRefused, match="tiktok"):
        world.adapter(case).publish(evolve(publication, channel=channel), NOW)


# --- refreshing the token -----------------------------------------------------------------------


def refreshable(world: World, case: Case, expires_in: timedelta, **changes: Any) -> dict[str, Any]:
    secret = {
        "access_token": TOKENS[case.standin],
        "refresh_token": REFRESH_TOKEN,
        "expires_at": int((NOW + expires_in).timestamp()),
        "token_url": world.oauth.token_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "page_name": "Corner Bakery",  # a field the adapter does not know: kept
        **changes,
    }
    world.store(case, secret)
    world.oauth.on_issue = world.standin(case).accept
    return secret


@pytest.mark.parametrize("name", NETWORK)
def test_a_token_inside_the_window_is_refreshed_written_back_and_used(
    world: World, name: str
) -> None:
    case, standin = CASES[name], world.standin(CASES[name])
    before = refreshable(world, case, timedelta(hours=3))
    standin.revoke()
    adapter, channel = world.adapter(case), world.channel(case)
    version = adapter.token_version(channel)

    adapter.publish(world.publication(case), NOW)

    [grant] = world.oauth.requests
    assert grant.form == {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN}
    assert grant.headers["authorization"].startswith("Basic ")  # client_secret_basic
    [issued] = world.oauth.issued
    after = world.stored(case)
    assert after == {
        **before,
        "access_token": issued,
        "refresh_token": after["refresh_token"],
        "expires_at": NOW.timestamp() + world.oauth.expires_in,
    }
    assert after["refresh_token"] not in ("", REFRESH_TOKEN)  # the rotated one
    assert len(world.landed(case)) == 1  # the revoked token would not have posted it
    assert adapter.token_version(channel) != version


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(world: World) -> None:
    case = CASES["facebook-text"]
    refreshable(world, case, timedelta(minutes=5))
    world.oauth.rotate = False
    world.adapter(case).publish(world.publication(case), NOW)
    assert world.stored(case)["refresh_token"] == REFRESH_TOKEN


def test_a_token_far_from_expiry_is_not_refreshed(world: World) -> None:
    case = CASES["facebook-text"]
    before = refreshable(world, case, timedelta(days=30))
    world.adapter(case).publish(world.publication(case), NOW)
    assert world.oauth.requests == []
    assert world.stored(case) == before
    assert len(world.graph.landed) == 1


def test_the_refresh_window_is_the_adapters_to_choose(world: World) -> None:
    case = CASES["facebook-text"]
    refreshable(world, case, timedelta(days=30))
    adapter = ChannelPosting(world.secrets, httpx.Client(), refresh_window=timedelta(days=31))
    with adapter.reach.http:
        adapter.publish(world.publication(case), NOW)
    assert len(world.oauth.requests) == 1


@pytest.mark.parametrize("name", NETWORK)
def test_a_refused_refresh_is_token_rejected_and_posts_nothing(world: World, name: str) -> None:
    case = CASES[name]
    before = refreshable(world, case, timedelta(hours=1))
    world.oauth.refresh_tokens.clear()  # revoked at the platform
    with pytest.raises(TokenRejected, match="invalid_grant") as raised:
        world.adapter(case).publish(world.publication(case), NOW)
    assert_says_no_secret(raised.value)
    assert world.standin(case).requests == []
    assert world.stored(case) == before


def test_a_client_the_token_endpoint_does_not_know_is_token_rejected(world: World) -> None:
    case = CASES["webhook"]
    refreshable(world, case, timedelta(hours=1), client_secret="an-old-app-secret")
    with pytest.raises(TokenRejected, match="invalid_client") as raised:
        world.adapter(case).publish(world.publication(case), NOW)
    assert "an-old-app-secret" not in str(raised.value)
    assert world.webhook.requests == []


@pytest.mark.parametrize(
    "reply", [Reply(503, b"upstream unavailable"), Reply(400, {"error": "temporarily_unavailable"})]
)
def test_a_token_endpoint_that_is_down_is_worth_retrying(world: World, reply: Reply) -> None:
    case = CASES["slack-text"]
    refreshable(world, case, timedelta(hours=1))
    world.oauth.answer_next(reply)
    with pytest.raises(ChannelBusy) as raised:
        world.adapter(case).publish(world.publication(case), NOW)
    assert_says_no_secret(raised.value)
    assert world.slack.requests == []


def test_an_expired_token_that_cannot_be_refreshed_is_still_tried(world: World) -> None:
    case = CASES["facebook-text"]
    world.store(case, {"access_token": PAGE_TOKEN, "expires_at": NOW.timestamp() - 3600})
    world.adapter(case).publish(world.publication(case), NOW)
    assert world.oauth.requests == []
    assert len(world.graph.landed) == 1  # the platform decides whether it still works
