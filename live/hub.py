"""Local fan-out of change hints to the subscriptions of this process.

Each subscription has a mailbox that holds only the newest news of its session: the
highest revision hinted, whether the session was deleted, whether to re-read regardless.
It takes constant memory however many hints arrive while its client does not read (a
queue of size one that keeps the latest), and the subscriber then catches up from the
database by revision: every message's latest state, in order, once.
"""

import asyncio
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from core.metrics import SUBSCRIPTIONS_OPEN


@dataclass(frozen=True, slots=True)
class Change:
    revision: int
    deleted: bool
    resync: bool


class Mailbox:
    """The news of one subscription, read by its task alone: a flag and the future that
    task waits on, if it waits (an asyncio.Event, without its list of waiters)."""

    __slots__ = ("_deleted", "_news", "_resync", "_revision", "_waiter")

    def __init__(self) -> None:
        self._revision = -1
        self._deleted = False
        self._resync = False
        self._news = False
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, revision: int) -> None:
        if revision > self._revision:
            self._revision = revision
            self._notify()

    def delete(self) -> None:
        self._deleted = True
        self._notify()

    def resync(self) -> None:
        """Ask for a re-read from the database (hints may have been lost)."""
        self._resync = True
        self._notify()

    def _notify(self) -> None:
        self._news = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next_change(self) -> Change:
        if not self._news:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        self._news = False
        change = Change(revision=self._revision, deleted=self._deleted, resync=self._resync)
        self._resync = False
        return change


class Hub:
    """The mailboxes of this process, by session."""

    def __init__(self) -> None:
        self._mailboxes: dict[uuid.UUID, set[Mailbox]] = {}

    @property
    def subscription_count(self) -> int:
        return sum(len(mailboxes) for mailboxes in self._mailboxes.values())

    def sessions(self) -> list[uuid.UUID]:
        return list(self._mailboxes)

    def watched(self, session_id: uuid.UUID) -> bool:
        """True when a subscription of this process follows the session."""
        return session_id in self._mailboxes

    @contextmanager
    def subscribe(self, session_id: uuid.UUID) -> Iterator[Mailbox]:
        mailbox = Mailbox()
        self._mailboxes.setdefault(session_id, set()).add(mailbox)
        SUBSCRIPTIONS_OPEN.inc()
        try:
            yield mailbox
        finally:
            SUBSCRIPTIONS_OPEN.dec()
            mailboxes = self._mailboxes[session_id]
            mailboxes.discard(mailbox)
            if not mailboxes:
                del self._mailboxes[session_id]

    def offer(self, session_id: uuid.UUID, revision: int) -> None:
        for mailbox in self._mailboxes.get(session_id, ()):
            mailbox.offer(revision)

    def delete(self, session_id: uuid.UUID) -> None:
        for mailbox in self._mailboxes.get(session_id, ()):
            mailbox.delete()

    def resync_all(self) -> None:
        for mailboxes in self._mailboxes.values():
            for mailbox in mailboxes:
                mailbox.resync()

    def reconcile(self, sessions: list[uuid.UUID], revisions: Mapping[uuid.UUID, int]) -> None:
        """Apply the database's view of `sessions`: their revisions, or that they are gone."""
        for session_id in sessions:
            if session_id in revisions:
                self.offer(session_id, revisions[session_id])
            else:
                self.delete(session_id)
