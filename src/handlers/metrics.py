"""What the alarms read: counts per Lambda invocation, written as one CloudWatch embedded-metric
(EMF) line to stdout when the invocation ends. CloudWatch Logs turns the line into metrics, so
no PutMetricData call is paid or waited for.

Every count lands in the namespace `backoffice/<prefix>` with the dimension `System=<prefix>`.
Outside a Lambda invocation (`backoffice serve`, the CLI) there is no CloudWatch to read a
line, so nothing is counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from attrs import define, field

from backoffice.core.tokens import TokenError, read

SYSTEM, CHANNEL = "System", "Channel"  # the dimensions

TICK_FAILED = "TickFailed"  # 1 when the tick raised, 0 when it ran
SENT, SEND_FAILED, RETRIED = "Sent", "SendFailed", "Retried"  # a dispatch's outcome
SIGNATURE_REJECTED = "SignatureRejected"  # a request or link whose signature or token failed
BOUNCED = "Bounced"  # addresses SES reported as hard-bounced
LABELED, LABELER_FAILED = "Labeled", "LabelerFailed"  # the inbox's queued records
MESSAGES_QUEUED = "MessagesQueued"  # customers' messages a connector put on the queue
REPLY_FAILED = "ReplyFailed"  # a teammate's reply the platform did not take

OUTCOMES = {"sent": SENT, "failed": SEND_FAILED, "retry": RETRIED}
# Each channel split out is three more custom metrics (billed per metric and month): only the
# one an alarm reads on its own, the paid text messages.
SPLIT_CHANNELS = frozenset({"sms"})


def namespace(prefix: str) -> str:
    return f"backoffice/{prefix}"


@define
class Counts:
    prefix: str
    values: dict[str, float] = field(factory=dict)
    channel: str = ""  # set when the invocation's counts are also split by channel

    def add(self, name: str, value: float) -> None:
        self.values[name] = self.values.get(name, 0) + value


_open: ContextVar[Counts | None] = ContextVar("backoffice_metrics", default=None)


@contextmanager
def invocation(prefix: str) -> Iterator[None]:
    """The counts of one invocation, flushed when it ends, also when it raises."""
    counts = Counts(prefix)
    token = _open.set(counts)
    try:
        yield
    finally:
        _open.reset(token)
        _flush(counts)


def count(name: str, value: float = 1) -> None:
    """Add to the open invocation's counts (none outside Lambda: see the module's docstring)."""
    counts = _open.get()
    if counts is not None:
        counts.add(name, value)


def count_delivery(status: str, channel: str) -> None:
    """A dispatch's outcome; the ones that are neither sent nor failed nor retried (deferred,
    duplicate, skipped...) are not what a failure rate is made of."""
    name = OUTCOMES.get(status)
    counts = _open.get()
    if name is None or counts is None:
        return
    counts.add(name, 1)
    if channel in SPLIT_CHANNELS:
        counts.channel = channel


def count_refused_token(secret: str, token: str, now: datetime) -> None:
    """A refused link counts as rejected only when its token itself fails (forged, damaged or
    expired), which is what a rotated or leaked secret looks like; a genuine link whose answer
    was turned down (already used, out of date) is not. Called only for refused links."""
    try:
        read(secret, token, now)
    except TokenError:
        count(SIGNATURE_REJECTED)


def _flush(counts: Counts) -> None:
    """One EMF line for the invocation, when it counted anything."""
    if not counts.values:
        return
    # Imported here: only an invocation that counted pays for it.
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    # service="": no `service` dimension whatever POWERTOOLS_SERVICE_NAME says, since the
    # alarms name the System dimension alone.
    emf = EphemeralMetrics(namespace=namespace(counts.prefix), service="")
    emf.add_dimension(name=SYSTEM, value=counts.prefix)
    if counts.channel:
        emf.add_dimensions(**{SYSTEM: counts.prefix, CHANNEL: counts.channel})
    for name, value in counts.values.items():
        emf.add_metric(name=name, unit=MetricUnit.Count, value=value)
    emf.flush_metrics()
