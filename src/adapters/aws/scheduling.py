"""One-off schedules on EventBridge Scheduler that call dispatch later."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

NAME = re.compile(r"^[0-9a-zA-Z_.-]{1,64}$")


class EventBridgeScheduler:
    """`at()` schedules in the system's timezone that delete themselves after running.

    moto accepts any name and expression, so both are checked here before every call."""

    def __init__(
        self, client: Any, group: str, target_arn: str, role_arn: str, timezone: str
    ) -> None:
        self.client = client
        self.group = group
        self.target_arn = target_arn
        self.role_arn = role_arn
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone

    def book(self, name: str, at: datetime, payload: dict[str, Any]) -> None:
        _check_name(name)
        try:
            self.client.create_schedule(
                Name=name,
                GroupName=self.group,
                ScheduleExpression=at_expression(at, self.zone),
                ScheduleExpressionTimezone=self.timezone,
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": self.target_arn,
                    "RoleArn": self.role_arn,
                    "Input": json.dumps(payload, sort_keys=True),
                },
            )
        except self.client.exceptions.ConflictException:
            return  # already booked under this name: the same move

    def cancel(self, name: str) -> None:
        _check_name(name)
        try:
            self.client.delete_schedule(Name=name, GroupName=self.group)
        except self.client.exceptions.ResourceNotFoundException:
            return


def at_expression(when: datetime, zone: ZoneInfo) -> str:
    """at(YYYY-MM-DDTHH:MM:SS) in local wall time; seconds are rounded up, never down."""
    if when.tzinfo is None:
        raise ValueError("a booking needs a timezone-aware time")
    local = when.astimezone(zone)
    if local.microsecond:
        local = local.replace(microsecond=0) + timedelta(seconds=1)
    return f"at({local:%Y-%m-%dT%H:%M:%S})"


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise ValueError(f"schedule name {name!r} must match [0-9a-zA-Z-_.]{{1,64}}")


def booked(scheduler: EventBridgeScheduler) -> dict[str, tuple[datetime, dict[str, Any]]]:
    """What the group holds: name -> (instant, payload). For operators' checks and tests."""
    found: dict[str, tuple[datetime, dict[str, Any]]] = {}
    paginator = scheduler.client.get_paginator("list_schedules")
    for page in paginator.paginate(GroupName=scheduler.group):
        for summary in page["Schedules"]:
            detail = scheduler.client.get_schedule(Name=summary["Name"], GroupName=scheduler.group)
            found[summary["Name"]] = (
                _parse_at(detail["ScheduleExpression"], scheduler.zone),
                json.loads(detail["Target"]["Input"]),
            )
    return found


def _parse_at(expression: str, zone: ZoneInfo) -> datetime:
    inner = expression.removeprefix("at(").removesuffix(")")
    return datetime.fromisoformat(inner).replace(tzinfo=zone)
