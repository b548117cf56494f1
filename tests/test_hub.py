"""A subscription's mailbox, in process: news that comes before its task waits is kept,
news coalesces to the newest, and a wait given up leaves the mailbox as it was."""

import asyncio
import uuid

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
