"""A subscription's mailbox, in process: news that comes before its task waits is kept,
news coalesces to the newest, and a wait given up leaves the mailbox as it was. A wait can
be answered: the news is handed on as it arrives, and the task wakes to the answer."""

import asyncio
import uuid

import pytest

from live.hub import Change, Hub, Mailbox


async def test_news_before_the_wait_is_not_lost_and_coalesces_to_the_newest():
    mailbox = Mailbox()
    mailbox.offer(3)
    mailbox.offer(5)
    mailbox.offer(4)  # older than what it holds: ignored
    assert await mailbox.next_change() == Change(revision=5, deleted=False, resync=False)
    waiting = asyncio.ensure_future(mailbox.next_change())
    await asyncio.sleep(0)
    assert not waiting.done()
    mailbox.offer(5)  # no news
    await asyncio.sleep(0)
    assert not waiting.done()
    mailbox.resync()
    assert await waiting == Change(revision=5, deleted=False, resync=True)
    mailbox.delete()
    assert await mailbox.next_change() == Change(revision=5, deleted=True, resync=False)


async def test_a_wait_given_up_leaves_the_mailbox_waitable():
    mailbox = Mailbox()
    waiting = asyncio.ensure_future(mailbox.next_change())
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    mailbox.offer(1)
    assert await asyncio.wait_for(mailbox.next_change(), 5) == Change(1, False, False)


async def test_the_hub_wakes_every_mailbox_of_the_session_and_forgets_a_closed_one():
    hub = Hub()
    session = uuid.uuid4()
    with hub.subscribe(session) as one, hub.subscribe(session) as two:
        waits = [asyncio.ensure_future(m.next_change()) for m in (one, two)]
        await asyncio.sleep(0)
        hub.offer(session, 7)
        assert [await w for w in waits] == [Change(7, False, False)] * 2
        assert hub.subscription_count == 2
    assert hub.subscription_count == 0 and hub.sessions() == []


async def test_an_answered_wait_hands_the_news_on_as_it_arrives_and_wakes_to_the_answer() -> None:
    mailbox = Mailbox()
    handed: list[Change] = []
    later: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def answer(change: Change, waiter: asyncio.Future[object]) -> None:
        handed.append(change)
        later.add_done_callback(lambda done: waiter.set_result(done.result()))

    waiting = asyncio.ensure_future(mailbox.answer_next_change(answer))
    await asyncio.sleep(0)
    mailbox.offer(3)
    # Handed on by the offer itself, before the waiting task has run again.
    assert handed == [Change(3, False, False)]
    mailbox.offer(4)  # news for the next wait: this one has its change
    await asyncio.sleep(0)
    assert not waiting.done()
    later.set_result("read")
    assert await waiting == "read"
    # News that came meanwhile is handed on at once to the next wait.
    assert await mailbox.next_change() == Change(4, False, False)
    mailbox.delete()

    def at_once(change: Change, waiter: asyncio.Future[object]) -> None:
        waiter.set_result(change)

    assert await mailbox.answer_next_change(at_once) == Change(4, True, False)


async def test_an_answered_wait_given_up_cancels_its_future_and_leaves_the_mailbox_waitable() -> (
    None
):
    mailbox = Mailbox()
    waiters: list[asyncio.Future[object]] = []
    waiting = asyncio.ensure_future(
        mailbox.answer_next_change(lambda change, waiter: waiters.append(waiter))
    )
    await asyncio.sleep(0)
    mailbox.offer(1)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert waiters[0].cancelled()  # a read it joined will not answer it
    mailbox.offer(2)
    assert await asyncio.wait_for(mailbox.next_change(), 5) == Change(2, False, False)


async def test_the_hub_counts_the_subscriptions_that_wait_for_news_not_those_busy():
    hub = Hub()
    session = uuid.uuid4()

    def answer(change: Change, waiter: asyncio.Future[object]) -> None:
        waiter.set_result(change)

    with hub.subscribe(session) as one, hub.subscribe(session) as two:
        assert hub.waiting(session) == 0
        plain = asyncio.ensure_future(one.next_change())
        answered = asyncio.ensure_future(two.answer_next_change(answer))
        await asyncio.sleep(0)
        assert hub.waiting(session) == 2 and hub.waiting(uuid.uuid4()) == 0
        hub.offer(session, 7)  # both woken: busy with it until they wait again
        assert hub.waiting(session) == 0
        assert [await plain, await answered] == [Change(7, False, False)] * 2
        assert hub.waiting(session) == 0


async def test_an_answer_that_fails_fails_the_wait_not_the_offer() -> None:
    hub = Hub()
    session = uuid.uuid4()

    def fails(change: Change, waiter: asyncio.Future[object]) -> None:
        raise RuntimeError("no read")

    with hub.subscribe(session) as one, hub.subscribe(session) as two:
        failing = asyncio.ensure_future(one.answer_next_change(fails))
        woken = asyncio.ensure_future(two.next_change())
        await asyncio.sleep(0)
        hub.offer(session, 7)
        assert await woken == Change(7, False, False)
        with pytest.raises(RuntimeError, match="no read"):
            await failing
