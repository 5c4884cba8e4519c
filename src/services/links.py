"""Signed single-use links, the flow every system's answers share.

GET opens a page and changes nothing; POST spends the link's nonce with a conditional write and
then applies the answer. An answer that is refused (a date out of range, a slot taken) or that
fails part-way gives the link back, so the person can simply try again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime

from attrs import field, frozen

from backoffice.core.tokens import LinkClaim, TokenError, read, verify
from backoffice.ports import Absent, ConditionFailed, Tables
from backoffice.services.delivery import stamp

KIND = "link"
USED = "This link has already been used. Nothing else was changed."
GIVE_BACK_TRIES = 3


@frozen
class LinkForm:
    """What the confirmation page asks before the POST that acts."""

    token: str
    action: str
    button: str
    date_label: str | None = None
    date_default: date | None = None
    date_min: date | None = None
    date_max: date | None = None
    fields: tuple[tuple[str, str], ...] = ()  # text inputs (name, current value) to edit


@frozen
class LinkPage:
    status: int
    title: str
    message: str
    form: LinkForm | None = None


@frozen
class Answered:
    """What applying an answer came to; a refused one leaves the link usable."""

    accepted: bool
    message: str


@frozen
class LinkAnswer:
    """A POST from a link's confirmation page, or a Slack button or modal: the token, what the
    person entered, and who they are when the channel knows better than the link."""

    token: str
    request_id: str
    value: str = ""  # a date, a time
    fields: Mapping[str, str] = field(factory=dict)  # an edited proposal's columns
    by: str = ""  # "slack:U123" when Slack says who pressed the button


@frozen
class ActionResult:
    status: int
    title: str
    message: str
    accepted: bool


@frozen
class Links:
    """Where a system keeps its spent nonces, and the secret its links are signed with."""

    tables: Tables
    nonces: str
    secret: str

    def open(self, token: str, now: datetime, view: Callable[[LinkClaim], LinkPage]) -> LinkPage:
        """GET: the page for a genuine, unspent link. Changes nothing."""
        try:
            claim = read(self.secret, token, now)
        except TokenError as error:
            return token_problem(error)
        if self.tables.get(self.nonces, claim.nonce, KIND) is not None:
            return LinkPage(409, "Link already used", USED)
        return view(claim)

    def act(
        self,
        token: str,
        now: datetime,
        apply: Callable[[LinkClaim], Answered],
        refused: Callable[[LinkClaim | None, str], None],
    ) -> ActionResult:
        """POST: spend the link, then `apply` the answer. `refused` records a link turned away
        before anything was applied: the claim when the link is genuine but expired or spent,
        None when it is not one of ours."""
        try:
            claim = read(self.secret, token, now)
        except TokenError as error:
            page = token_problem(error)
            refused(self._genuine(token), page.message)
            return ActionResult(page.status, page.title, page.message, False)
        if not self._spend(claim, now):
            refused(claim, USED)
            return ActionResult(409, "Link already used", USED, False)
        try:
            answered = apply(claim)
        except Exception:
            self._give_back(claim)  # the answer did not land
            raise
        if answered.accepted:
            return ActionResult(200, "Done", answered.message, True)
        self._give_back(claim)
        return ActionResult(409, "Nothing changed", answered.message, False)

    def _spend(self, claim: LinkClaim, now: datetime) -> bool:
        row = {
            "nonce": claim.nonce,
            "kind": KIND,
            "spent_at": stamp(now),
            "subject": claim.subject,
            "action": claim.action,
        }
        try:
            self.tables.put(self.nonces, row, Absent())
        except ConditionFailed:
            return False
        return True

    def _give_back(self, claim: LinkClaim) -> None:
        """A store hiccup here would leave the person with a spent link for an answer that did
        not land, so it is tried a few times."""
        for attempt in range(GIVE_BACK_TRIES):
            try:
                self.tables.delete_many(self.nonces, [(claim.nonce, KIND)])
                return
            except Exception:
                if attempt == GIVE_BACK_TRIES - 1:
                    raise

    def _genuine(self, token: str) -> LinkClaim | None:
        try:
            return verify(self.secret, token)
        except TokenError:
            return None


def action_of(secret: str, token: str) -> str | None:
    """The action a genuine token carries (expired or not), to know which links it belongs to."""
    try:
        return verify(secret, token).action
    except TokenError:
        return None


def token_problem(error: TokenError) -> LinkPage:
    if error.reason == "expired":
        return LinkPage(
            410,
            "Link expired",
            "This link has expired; a newer message carries a fresh one if there is more "
            "to answer. Nothing was changed.",
        )
    return LinkPage(
        400, "Link not valid", "This link is damaged or was not issued by us. Nothing was changed."
    )
