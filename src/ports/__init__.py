"""The interfaces services depend on. Adapters satisfy them structurally (typing.Protocol)."""

from backoffice.ports.messaging import (
    Bus,
    Button,
    Chat,
    ChatMessage,
    Email,
    Event,
    Mailer,
    Model,
)
from backoffice.ports.scheduling import Clock, Scheduler
from backoffice.ports.storage import Blob, Blobs, Documents, Drive, Extracted, PdfText, Sheet
from backoffice.ports.tables import (
    Absent,
    AllOf,
    AnyOf,
    Before,
    Condition,
    ConditionFailed,
    Equals,
    Item,
    Tables,
    TableSchema,
    holds,
)

__all__ = [
    "Absent",
    "AllOf",
    "AnyOf",
    "Before",
    "Blob",
    "Blobs",
    "Bus",
    "Button",
    "Chat",
    "ChatMessage",
    "Clock",
    "Condition",
    "ConditionFailed",
    "Documents",
    "Drive",
    "Email",
    "Equals",
    "Event",
    "Extracted",
    "Item",
    "Mailer",
    "Model",
    "PdfText",
    "Scheduler",
    "Sheet",
    "TableSchema",
    "Tables",
    "holds",
]
