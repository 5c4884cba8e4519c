"""Lambda entry points of the appointment reminders (deploy/appointment-reminder.yaml names
them), and the customers' reply pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backoffice.handlers import factories
from backoffice.services.appointment_reminder import SYSTEM

if TYPE_CHECKING:
    from backoffice.handlers.web import Route


def _replies() -> tuple[Route, ...]:
    """The reply pages, imported by the function that serves them only."""
    from backoffice.handlers import appointment_replies

    return appointment_replies.ROUTES


reminder = factories.tick(SYSTEM)
dispatch = factories.dispatch(SYSTEM)
summary = factories.summary(SYSTEM)
drive_sync = factories.drive_sync(SYSTEM)
calendar_sync = factories.calendar_sync(SYSTEM)
intake_ses_parser = factories.intake_ses_parser(SYSTEM)
# The customers' links, the admin's proposal links and Slack's buttons.
HTTP = reply_handler = factories.http(SYSTEM, _replies)
