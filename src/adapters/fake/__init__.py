"""In-memory adapters for every port: they record what happened and fail on request."""

from collections.abc import Iterable

from backoffice.adapters.fake.faults import Faults, InjectedFault
from backoffice.adapters.fake.messaging import FakeBus, FakeChat, FakeMailer, FakeSms
from backoffice.adapters.fake.posting import FakePosting
from backoffice.adapters.fake.queue import FakeQueue
from backoffice.adapters.fake.replies import FakeReplies
from backoffice.adapters.fake.scheduling import FakeClock, FakeScheduler
from backoffice.adapters.fake.storage import FakeBlobs, FakeSheet
from backoffice.adapters.fake.tables import FakeTables
from backoffice.ports import Bus, Ports, TableSchema

__all__ = [
    "FakeBlobs",
    "FakeBus",
    "FakeChat",
    "FakeClock",
    "FakeMailer",
    "FakePosting",
    "FakeQueue",
    "FakeReplies",
    "FakeScheduler",
    "FakeSheet",
    "FakeSms",
    "FakeTables",
    "Faults",
    "InjectedFault",
    "fake_ports",
]


def fake_ports(clock: FakeClock, schemas: Iterable[TableSchema], bus: Bus | None = None) -> Ports:
    """Every port in memory: for tests, and for `preview`, which must write nothing."""
    from backoffice.adapters.images import BlobRenderCache, PillowImages

    blobs = FakeBlobs()
    return Ports(
        clock=clock,
        tables=FakeTables(schemas),
        blobs=blobs,
        sheet=FakeSheet([]),
        scheduler=FakeScheduler(),
        mailer=FakeMailer(),
        chat=FakeChat(),
        bus=bus or FakeBus(),
        sms=FakeSms(),
        posting=FakePosting(),
        images=PillowImages(BlobRenderCache(blobs, "http://127.0.0.1")),
        queue=FakeQueue(clock=clock),
        replies=FakeReplies(),
    )
