"""The social channels in memory: every publication recorded, per-channel faults on request,
and token versions a test can change (a reconnect)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from attrs import define, field

from backoffice.adapters.fake.faults import Faults
from backoffice.ports import Channel, Posted, Publication


@define
class FakePosting:
    published: list[Publication] = field(factory=list)
    faults: Faults = field(factory=Faults)
    versions: dict[str, str] = field(factory=dict)  # channel name -> its secret's version

    def publish(self, publication: Publication, now: datetime) -> Posted:
        self.faults.hit(f"publish:{publication.channel.name}")
        self.published.append(publication)
        number = len(self.published)
        platform_id = f"{publication.channel.name}-{number}"
        return Posted(platform_id, f"https://{publication.channel.kind}.example/{platform_id}")

    def token_version(self, channel: Channel) -> str:
        return self.versions.get(channel.name, "v1")

    def reconnect(self, channel: str) -> None:
        """A new secret for the channel, as an owner's reconnect stores one."""
        old = self.versions.get(channel, "v1")
        self.versions[channel] = hashlib.sha256(old.encode()).hexdigest()[:8]

    def on(self, channel: str) -> list[Publication]:
        return [p for p in self.published if p.channel.name == channel]
