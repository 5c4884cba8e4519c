"""The set of ports a system's services run on, built by one composition root per backend
(AWS, the embedded backend, the fakes)."""

from __future__ import annotations

from attrs import frozen

from backoffice.ports.messaging import Bus, Chat, Mailer, Model, Sms
from backoffice.ports.posting import Images, Posting
from backoffice.ports.queue import Queue
from backoffice.ports.replies import Replies
from backoffice.ports.scheduling import Clock, Scheduler
from backoffice.ports.storage import Blobs, Sheet
from backoffice.ports.tables import Tables


@frozen
class Ports:
    clock: Clock
    tables: Tables
    blobs: Blobs
    sheet: Sheet
    scheduler: Scheduler
    mailer: Mailer
    chat: Chat
    bus: Bus
    sms: Sms
    # Rewrites a message lightly for one person (a personalised onboarding step); None where
    # there is no model (the embedded backend): the template goes out as written.
    model: Model | None = None
    # The social channels and the images their posts carry; None for systems that never post.
    posting: Posting | None = None
    images: Images | None = None
    queue: Queue | None = None  # the work of an event-driven system (the inbox's messages)
    replies: Replies | None = None  # the inbox's teammates answering customers
    # A preview's run: every move goes through its claim and its confirmation as a real run
    # would, but a message to a person (email, Slack, SMS) is not written, since a preview
    # shows who gets what and when, never the bodies. Posts still run their checks.
    rehearsal: bool = False
