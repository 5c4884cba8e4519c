"""One contract for the fake, SQLite and SQS (moto) queues.

Time cannot be advanced for moto, so its queue has a visibility timeout of 0: a message comes
back at once, and `expire` has nothing to wait for. The cases that need a message to stay
hidden for a while run on the fake and SQLite only."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from attrs import frozen
from conftest import REGION, aws

from backoffice.adapters.fake import FakeClock, FakeQueue, InjectedFault
from backoffice.adapters.local.queue import SqliteQueue
from backoffice.ports import Queue

VISIBILITY = timedelta(seconds=60)
START = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


@frozen
class Subject:
    queue: Queue
    clock: FakeClock | None  # None for moto, which keeps real time

    def expire(self) -> None:
        """Let every message's visibility timeout run out."""
        if self.clock is not None:
            self.clock.advance(VISIBILITY)


@contextmanager
def fake_queue(tmp: Path) -> Iterator[Subject]:
    clock = FakeClock(START)
    yield Subject(FakeQueue(VISIBILITY, 5, clock=clock), clock)


@contextmanager
def sqlite_queue(tmp: Path) -> Iterator[Subject]:
    clock = FakeClock(START)
    queue = SqliteQueue(tmp / "state.db", clock, visibility=VISIBILITY)
    yield Subject(queue, clock)
    queue.close()


@contextmanager
def sqs_queue(tmp: Path) -> Iterator[Subject]:
    import boto3

    from backoffice.adapters.aws.queue import SqsQueue

    with aws():
        client = boto3.client("sqs", region_name=REGION)
        dlq = client.create_queue(QueueName="intake-dead")["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        redrive = {"deadLetterTargetArn": arn["Attributes"]["QueueArn"], "maxReceiveCount": 5}
        url = client.create_queue(
            QueueName="intake",
            Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
        yield Subject(SqsQueue(client, url, dlq), None)


QUEUES: dict[str, Callable[[Path], AbstractContextManager[Subject]]] = {
    "fake": fake_queue,
    "local": sqlite_queue,
    "aws": sqs_queue,
}


@pytest.fixture(params=sorted(QUEUES))
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    with QUEUES[request.param](tmp_path) as built:
        yield built


@pytest.fixture(params=["fake", "local"])
def timed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    with QUEUES[request.param](tmp_path) as built:
        yield built


def test_send_then_receive_oldest_first_counted_once(subject: Subject) -> None:
    subject.queue.send(["a", "b", "c"])
    received = subject.queue.receive(2)
    assert [(m.body, m.receive_count) for m in received] == [("a", 1), ("b", 1)]
    assert len({m.message_id for m in received}) == 2


def test_a_message_not_deleted_comes_back_with_a_fresh_receipt(subject: Subject) -> None:
    subject.queue.send(["a"])
    [first] = subject.queue.receive(10)
    subject.expire()
    [again] = subject.queue.receive(10)
    assert (again.message_id, again.body, again.receive_count) == (first.message_id, "a", 2)
    assert again.receipt != first.receipt


def test_a_received_message_stays_hidden_until_its_visibility_passes(timed: Subject) -> None:
    assert timed.clock is not None
    timed.queue.send(["a"])
    assert [m.body for m in timed.queue.receive(10)] == ["a"]
    timed.clock.advance(VISIBILITY - timedelta(seconds=1))
    assert timed.queue.receive(10) == []
    timed.clock.advance(timedelta(seconds=1))
    assert [m.receive_count for m in timed.queue.receive(10)] == [2]
    assert timed.queue.receive(10) == []


def test_deleted_messages_never_come_back(subject: Subject) -> None:
    subject.queue.send(["done", "pending"])
    done, _ = subject.queue.receive(10)
    subject.queue.delete(done.receipt)
    subject.expire()
    assert [m.body for m in subject.queue.receive(10)] == ["pending"]


def test_after_its_last_receive_a_message_is_dead_lettered(subject: Subject) -> None:
    subject.queue.send(["poison"])
    for count in range(1, 6):
        assert [m.receive_count for m in subject.queue.receive(10)] == [count]
        subject.expire()
    assert subject.queue.dead_letters() == 0  # moved by the next receive, as SQS does
    assert subject.queue.receive(10) == []
    assert subject.queue.dead_letters() == 1
    subject.expire()
    assert subject.queue.receive(10) == []


def test_many_bodies_are_all_sent_and_drained_in_order(subject: Subject) -> None:
    bodies = [f"body {n}" for n in range(25)]
    subject.queue.send(bodies)
    drained: list[str] = []
    while batch := subject.queue.receive(10):
        assert len(batch) <= 10
        for message in batch:
            drained.append(message.body)
            subject.queue.delete(message.receipt)
    assert drained == bodies


def test_receive_takes_at_least_one(subject: Subject) -> None:
    with pytest.raises(ValueError):
        subject.queue.receive(0)


# moto deletes a message on any receipt it ever had; SQS documents a stale receipt as a no-op.
def test_a_stale_receipt_deletes_nothing(timed: Subject) -> None:
    timed.queue.send(["a"])
    [first] = timed.queue.receive(10)
    timed.expire()
    [second] = timed.queue.receive(10)
    timed.queue.delete(first.receipt)
    timed.expire()
    [third] = timed.queue.receive(10)
    assert (third.message_id, third.receive_count) == (second.message_id, 3)
    timed.queue.delete(third.receipt)
    timed.expire()
    assert timed.queue.receive(10) == []


def test_two_sqlite_queues_never_receive_the_same_message(tmp_path: Path) -> None:
    clock = FakeClock(START)  # never advanced: a received message cannot come back
    SqliteQueue(tmp_path / "state.db", clock).send([str(n) for n in range(60)])
    taken: list[list[str]] = [[] for _ in range(6)]

    def drain(worker: int) -> None:
        queue = SqliteQueue(tmp_path / "state.db", clock)
        try:
            while batch := queue.receive(3):
                taken[worker].extend(message.body for message in batch)
        finally:
            queue.close()

    threads = [threading.Thread(target=drain, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [body for bodies in taken for body in bodies]
    assert sorted(everything, key=int) == [str(n) for n in range(60)]


def test_named_queues_share_a_file_but_not_messages(tmp_path: Path) -> None:
    clock = FakeClock(START)
    intake = SqliteQueue(tmp_path / "state.db", clock)
    other = SqliteQueue(tmp_path / "state.db", clock, name="other")
    intake.send(["a"])
    assert other.receive(10) == [] and [m.body for m in intake.receive(10)] == ["a"]
    intake.close()
    other.close()


def test_the_fake_records_sends_and_dead_letters_and_fails_on_request() -> None:
    clock = FakeClock(START)
    queue = FakeQueue(VISIBILITY, max_receives=1, clock=clock)
    queue.faults.fail_next("send")
    with pytest.raises(InjectedFault):
        queue.send(["lost"])
    queue.send(["a", "b"])
    [first, _] = queue.receive(10)
    queue.delete(first.receipt)
    clock.advance(VISIBILITY)
    assert queue.receive(10) == []
    assert (queue.sent, queue.dead) == (["a", "b"], ["b"])
    assert queue.faults.calls == {"send": 2, "receive": 2, "delete": 1}
