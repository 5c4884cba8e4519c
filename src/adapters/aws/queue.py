"""The work queue on SQS. Visibility and dead-lettering are the queue's own settings: its
VisibilityTimeout, and a RedrivePolicy (maxReceiveCount 5) naming the dead-letter queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backoffice.ports import Received

SEND_BATCH = 10
RECEIVE_MOST = 10


class SqsQueue:
    """A standard queue orders messages only on a best-effort basis, and a delete with a
    stale receipt handle succeeds without deleting."""

    def __init__(self, client: Any, queue_url: str, dlq_url: str = "") -> None:
        self.client = client
        self.queue_url = queue_url
        self.dlq_url = dlq_url

    def send(self, bodies: Sequence[str]) -> None:
        entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies)]
        for start in range(0, len(entries), SEND_BATCH):
            self._send(entries[start : start + SEND_BATCH])

    def _send(self, batch: list[dict[str, str]]) -> None:
        response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=batch)
        failed = response.get("Failed") or []
        if failed:
            codes = sorted({entry.get("Code", "") for entry in failed})
            raise RuntimeError(f"SQS refused {len(failed)} of {len(batch)} messages: {codes}")

    def receive(self, limit: int) -> list[Received]:
        if limit < 1:
            raise ValueError("receive at least one message")
        response = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(limit, RECEIVE_MOST),
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return [
            Received(
                message["MessageId"],
                message["ReceiptHandle"],
                message["Body"],
                int(message["Attributes"]["ApproximateReceiveCount"]),
            )
            for message in response.get("Messages", [])
        ]

    def delete(self, receipt: str) -> None:
        self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)

    def dead_letters(self) -> int:
        """SQS's approximate count, which leaves out dead letters someone is receiving."""
        if not self.dlq_url:
            return 0
        response = self.client.get_queue_attributes(
            QueueUrl=self.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(response["Attributes"]["ApproximateNumberOfMessages"])
