"""Local fan-out of change hints to the subscriptions of this process.

Each subscription has a mailbox that holds only the newest news of its session: the
highest revision hinted, whether the session was deleted, whether to re-read regardless.
It takes constant memory however many hints arrive while its client does not read (a
queue of size one that keeps the latest), and the subscriber then catches up from the
database by revision: every message's latest state, in order, once.
"""

import asyncio
import uuid
from collections.abc import Callable, Mapping
from contextvars import Context, copy_context
from dataclasses import dataclass
from typing import Any

from core.metrics import SUBSCRIPTIONS_OPEN


@dataclass(frozen=True, slots=True)
class Change:
    revision: int
    deleted: bool
    resync: bool


# Given a change and the future its subscriber waits on, answers that future (at once, or
# when a read it started is done).
Answer = Callable[[Change, "asyncio.Future[Any]"], None]


class Mailbox:
    """The news of one subscription, read by its task alone: a flag and the future that
    task waits on, if it waits (an asyncio.Event, without its list of waiters); and, if it
    waits to be answered, what answers that future."""

    __slots__ = ("_answer", "_context", "_deleted", "_news", "_resync", "_revision", "_waiter")

    def __init__(self) -> None:
        self._revision = -1
        self._deleted = False
        self._resync = False
        self._news = False
        self._waiter: asyncio.Future[Any] | None = None
        self._answer: Answer | None = None
        # The waiting task's: `_answer` runs in it, as if that task ran it (a read it starts
        # logs with the subscriber's request id, and traces under its operation).
        self._context: Context | None = None

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
        if waiter is None or waiter.done():
            return
        answer = self._answer
        if answer is None:
            waiter.set_result(None)
            return
        context = self._context
        assert context is not None
        # The waiter is the answer's now: later news waits for the next wait.
        self._waiter = self._answer = self._context = None
        try:
            context.run(answer, self._take(), waiter)
        except Exception as error:  # the subscriber's to raise, not the notifier's
            if not waiter.done():
                waiter.set_exception(error)

    @property
    def waiting(self) -> bool:
        """True when its task waits for news (rather than being busy with the last)."""
        return self._waiter is not None and not self._waiter.done()

    async def next_change(self) -> Change:
        if not self._news:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._take()

    async def answer_next_change(self, answer: Answer) -> Any:
        """What `answer` gives for the next change: it is handed the change as soon as the
        change arrives, with the future this waits on. So a read the change prompts starts
        at once, and the subscriber wakes once, to what was read, not first to the news."""
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._news:
            answer(self._take(), waiter)
        else:
            self._waiter, self._answer, self._context = waiter, answer, copy_context()
        try:
            return await waiter
        finally:
            self._waiter = self._answer = self._context = None
            waiter.cancel()  # if given up: what it waited for then has nobody to tell

    def _take(self) -> Change:
        """The news, which is then no longer news."""
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

    def waiting(self, session_id: uuid.UUID) -> int:
        """How many subscriptions of the session wait for news: those that news arriving now
        would wake, and whose reads it prompts could be shared."""
        return sum(mailbox.waiting for mailbox in self._mailboxes.get(session_id, ()))

    def sessions(self) -> list[uuid.UUID]:
        return list(self._mailboxes)

    def watched(self, session_id: uuid.UUID) -> bool:
        """True when a subscription of this process follows the session."""
        return session_id in self._mailboxes

    def subscribe(self, session_id: uuid.UUID) -> "Subscription":
        """A mailbox for the session's news while the context is open."""
        return Subscription(self._mailboxes, session_id)

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


class Subscription:
    """A mailbox in the hub's mailboxes of a session while the context is open. A class, not
    a generator's context manager: every subscription holds one for its life, and a
    generator would hold its frame too."""

    __slots__ = ("_mailbox", "_mailboxes", "_session_id")

    def __init__(self, mailboxes: dict[uuid.UUID, set[Mailbox]], session_id: uuid.UUID) -> None:
        self._mailboxes = mailboxes
        self._session_id = session_id
        self._mailbox = Mailbox()

    def __enter__(self) -> Mailbox:
        self._mailboxes.setdefault(self._session_id, set()).add(self._mailbox)
        SUBSCRIPTIONS_OPEN.inc()
        return self._mailbox

    def __exit__(self, *exc_info: object) -> None:
        SUBSCRIPTIONS_OPEN.dec()
        mailboxes = self._mailboxes[self._session_id]
        mailboxes.discard(self._mailbox)
        if not mailboxes:
            del self._mailboxes[self._session_id]
