"""Lambda entry points of the expiry watcher (deploy/expiry-watcher.yaml names them)."""

from backoffice.handlers import factories
from backoffice.services.expiry_watcher import SYSTEM

watcher = factories.tick(SYSTEM)
dispatch = factories.dispatch(SYSTEM)
digest = factories.reports(SYSTEM)
summary = factories.summary(SYSTEM)
drive_sync = factories.drive_sync(SYSTEM)
calendar_sync = factories.calendar_sync(SYSTEM)
intake_ses_parser = factories.intake_ses_parser(SYSTEM)
# The links in alert emails and the Slack buttons (the app's Interactivity URL is this
# function's URL followed by /slack/actions).
HTTP = ack_handler = factories.http(SYSTEM)
