"""In-memory adapters for every port: they record what happened and fail on request."""

from backoffice.adapters.fake.faults import Faults, InjectedFault
from backoffice.adapters.fake.messaging import FakeBus, FakeChat, FakeMailer, FakeSms
from backoffice.adapters.fake.scheduling import FakeClock, FakeScheduler
from backoffice.adapters.fake.storage import FakeBlobs, FakeSheet
from backoffice.adapters.fake.tables import FakeTables

__all__ = [
    "FakeBlobs",
    "FakeBus",
    "FakeChat",
    "FakeClock",
    "FakeMailer",
    "FakeScheduler",
    "FakeSheet",
    "FakeSms",
    "FakeTables",
    "Faults",
    "InjectedFault",
]
