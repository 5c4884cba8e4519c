"""The systems this library runs: adding one is one line here."""

from __future__ import annotations

from backoffice.services import (
    appointment_reminder,
    expiry_watcher,
    onboarding_guide,
    social_inbox,
    social_scheduler,
)
from backoffice.services.system import System

SYSTEMS: tuple[System, ...] = (
    expiry_watcher.SYSTEM,
    appointment_reminder.SYSTEM,
    onboarding_guide.SYSTEM,
    social_scheduler.SYSTEM,
    social_inbox.SYSTEM,
)
NAMES = tuple(system.name for system in SYSTEMS)


class UnknownSystem(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.message = f"system {name!r} is not one of {', '.join(NAMES)}"

    def __str__(self) -> str:
        return self.message


def system_named(name: str) -> System:
    for system in SYSTEMS:
        if system.name == name:
            return system
    raise UnknownSystem(name)
