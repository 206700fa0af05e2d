"""The X poller against the local X API fake (spec-validated) and a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.scheduler import run_guarded
from bot.x_client import HttpxXApi, RetryPolicy, TimelinePage, XApiError
from bot.x_poller import XAccountSource
from config.settings import SourcesSettings, WatchedAccount
from streams import keys
from tests.fixtures_feeds import RecordingSink, XFake, fast_settings, sink, sredis, xfake

pytestmark = pytest.mark.integration
__all__ = ["sink", "sredis", "xfake"]

ACCOUNT = WatchedAccount(
    username="SenWhitfield", name="Jane Whitfield", party="democrat", role="senator", state="OH"
)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def x_api(xfake: XFake) -> AsyncIterator[HttpxXApi]:
    client = HttpxXApi(
        xfake.base_url, "fake-bearer-token", retry=RetryPolicy(2, 0, 0, 5), sleep=Sleeps()
    )
    yield client
    await client.aclose()


class Harness:
    def __init__(self, fake: XFake, api: HttpxXApi, sink: RecordingSink, redis: Redis) -> None:
        self.fake, self.api, self.sink, self.redis = fake, api, sink, redis
        self.user_id = fake.world.add_user("SenWhitfield", "Jane Whitfield")["id"]
        self.other_id = fake.world.add_user("SomeoneElse")["id"]
        self.clock = T0 + timedelta(days=1)

    def source(self, **settings: Any) -> XAccountSource:
        cfg: SourcesSettings = fast_settings(**{"thread_window_s": 0, **settings})
        return XAccountSource(
            ACCOUNT,
            api=self.api,
            sink=self.sink,
            redis=self.redis,
            settings=cfg,
            now=lambda: self.clock,
        )

    def post(self, text: str, at: datetime = T0, **kw: Any) -> str:
        tweet = self.fake.world.add_tweet(self.user_id, text, created_at=iso(at), **kw)
        return str(tweet["id"])

    def timeline_requests(self) -> list[Mapping[str, Any]]:
        return [r for r in self.fake.state.request_log if r["route"] == "/2/users/{id}/tweets"]

    async def cursor(self) -> str | None:
        return await self.redis.get(keys.x_cursor(self.user_id))


@pytest.fixture
def h(xfake: XFake, x_api: HttpxXApi, sink: RecordingSink, sredis: Redis) -> Harness:
    return Harness(xfake, x_api, sink, sredis)


async def test_first_run_takes_newest_id_then_emits_only_new_posts(h: Harness) -> None:
    old = [h.post(f"Old statement number {i}.") for i in range(3)]
    source = h.source()
    first = await source.run_once()
    assert first.emitted == 0 and h.sink.events == []
    assert await h.cursor() == old[-1]
    assert await h.redis.get(keys.x_user_id("SenWhitfield")) == h.user_id

    new = [h.post("Unemployment is at a record low."), h.post("We balanced the budget.")]
    second = await source.run_once()
    assert second.emitted == 2
    assert h.sink.external_ids() == new
    event = h.sink.events[0]
    assert event == {
        "source": "x",
        "kind": "tweet",
        "external_id": new[0],
        "author": "Jane Whitfield",
        "text": "Unemployment is at a record low.",
        "said_at": "2024-05-01T12:00:00+00:00",
        "url": f"https://x.com/SenWhitfield/status/{new[0]}",
        "party": "democrat",
        "role": "senator",
        "state": "OH",
    }
    assert await h.cursor() == new[-1]
    assert (await source.run_once()).emitted == 0  # nothing new: nothing emitted
    assert len(h.sink.events) == 2
    assert h.fake.state.validation_errors == []


async def test_pagination_with_since_id_emits_every_post_once(h: Harness) -> None:
    source = h.source(x_page_size=5)
    await source.run_once()  # empty timeline: initialised at "0"
    assert await h.cursor() == "0"
    ids = [
        h.post(f"Claim number {i} about the economy.", T0 + timedelta(seconds=i)) for i in range(12)
    ]
    before = len(h.timeline_requests())
    result = await source.run_once()
    assert result.emitted == 12
    assert h.sink.external_ids() == ids  # oldest first
    assert len(h.timeline_requests()) - before == 3  # 5 + 5 + 2
    assert await h.cursor() == ids[-1]
    more = [h.post("One more claim after the big batch.")]
    await source.run_once()
    assert h.sink.external_ids() == ids + more
    assert h.fake.state.validation_errors == []


async def test_backfill_limit_takes_the_newest_posts_on_first_run(h: Harness) -> None:
    ids = [h.post(f"Backfilled claim {i}.", T0 + timedelta(seconds=i)) for i in range(7)]
    result = await h.source(x_backfill_limit=3, x_page_size=5).run_once()
    assert result.emitted == 3 and h.sink.external_ids() == ids[-3:]
    assert await h.cursor() == ids[-1]


async def test_retweets_and_replies_to_others_are_not_statements(h: Harness) -> None:
    source = h.source()
    await source.run_once()
    theirs = h.fake.world.add_tweet(h.other_id, "Their post.", created_at=iso(T0))["id"]
    mine = h.post("My own claim about schools.")
    h.post("RT their post", retweet_of=theirs)
    h.post("@SomeoneElse you are wrong", in_reply_to_tweet_id=theirs)
    result = await source.run_once()
    assert h.sink.external_ids() == [mine]
    assert result.skipped >= 1  # the reply (the retweet is excluded by the API itself)


async def test_restart_mid_run_loses_nothing_and_duplicates_nothing(h: Harness) -> None:
    source = h.source(x_page_size=5)
    await source.run_once()
    ids = [h.post(f"Claim {i} before the crash.", T0 + timedelta(seconds=i)) for i in range(8)]
    # Page 2 fails for good (retries exhausted): the run dies after reading page 1.
    page_one_done = len(h.timeline_requests())

    class FailOnSecondPage(HttpxXApi):
        calls = 0

        async def user_posts(self, *a: Any, **kw: Any) -> TimelinePage:
            FailOnSecondPage.calls += 1
            if FailOnSecondPage.calls == 2:
                raise XApiError("page 2 unavailable", reason="unavailable")
            return await super().user_posts(*a, **kw)

    crashing = FailOnSecondPage(h.fake.base_url, "fake-bearer-token")
    crash_source = XAccountSource(
        ACCOUNT,
        api=crashing,
        sink=h.sink,
        redis=h.redis,
        settings=fast_settings(thread_window_s=0, x_page_size=5),
    )
    with pytest.raises(XApiError):
        await crash_source.run_once()
    await crashing.aclose()
    assert len(h.timeline_requests()) == page_one_done + 1
    assert h.sink.events == [] and await h.cursor() == "0"

    # The broker is down when the run emits: send_many raises, the cursor stays.
    h.sink.fail_next = 1
    with pytest.raises(ConnectionError):
        await source.run_once()
    assert h.sink.events == [] and await h.cursor() == "0"

    # Next run: everything, exactly once.
    result = await source.run_once()
    assert result.emitted == 8 and h.sink.external_ids() == ids
    assert (await source.run_once()).emitted == 0
    assert h.sink.external_ids() == ids


async def test_edits_are_emitted_once(h: Harness) -> None:
    source = h.source()
    await source.run_once()
    original = h.post("Taxes rose 10 percent last year.")
    await source.run_once()
    edit = h.post("Taxes rose 12 percent last year.")
    h.fake.world.tweets[edit]["edit_history_tweet_ids"] = [original, edit]
    result = await source.run_once()
    assert result.emitted == 0 and result.skipped == 1
    assert h.sink.external_ids() == [original]
    # Both versions new in one run: one statement, the newest text, the original's id.
    second = h.post("Crime fell by a third.")
    second_edit = h.post("Crime fell by a quarter.")
    h.fake.world.tweets[second_edit]["edit_history_tweet_ids"] = [second, second_edit]
    await source.run_once()
    assert h.sink.events[-1]["external_id"] == second
    assert h.sink.events[-1]["text"] == "Crime fell by a quarter."
    assert len(h.sink.events) == 2


async def test_thread_window_holds_a_thread_until_it_closes(h: Harness) -> None:
    source = h.source(thread_window_s=120)
    await source.run_once()
    root = h.post("First, the deficit fell.", T0)
    r1 = h.post("Second, wages rose.", T0 + timedelta(seconds=20), in_reply_to_tweet_id=root)
    h.clock = T0 + timedelta(seconds=60)
    held = await source.run_once()
    assert held.emitted == 0 and h.sink.events == []
    assert await h.cursor() == r1  # cursor moved; the tweets wait in Redis
    assert await h.redis.get(keys.x_pending(h.user_id))

    # A continuation arrives on the next poll and joins the open thread.
    r2 = h.post("Third, crime is down.", T0 + timedelta(seconds=90), in_reply_to_tweet_id=r1)
    h.clock = T0 + timedelta(seconds=150)
    assert (await source.run_once()).emitted == 0
    h.clock = T0 + timedelta(seconds=211)
    done = await source.run_once()
    assert done.emitted == 1
    (event,) = h.sink.events
    assert event["external_id"] == root and event["thread_ids"] == [root, r1, r2]
    assert event["text"] == "First, the deficit fell. Second, wages rose. Third, crime is down."
    assert await h.redis.get(keys.x_pending(h.user_id)) is None
    assert (await source.run_once()).emitted == 0


async def test_429_waits_for_the_reset_and_the_run_completes(h: Harness, xfake: XFake) -> None:
    from ops.xfake.server import Injection

    source = h.source()
    await source.run_once()
    posted = h.post("A claim behind a rate limit.")
    xfake.state.injections[("GET", "/2/users/{id}/tweets")].append(
        Injection(status=429, remaining=1, reset_in_s=3)
    )
    result = await source.run_once()
    assert result.emitted == 1 and h.sink.external_ids() == [posted]
    waits = h.api._sleep.waits  # type: ignore[attr-defined]
    assert len(waits) == 1 and 1.0 <= waits[0] <= 5.0


async def test_rate_limit_beyond_the_cap_is_a_recorded_error(h: Harness, xfake: XFake) -> None:
    from ops.xfake.server import Injection

    source = h.source()
    await source.run_once()
    h.post("A claim that must wait for the next run.")
    xfake.state.injections[("GET", "/2/users/{id}/tweets")].append(
        Injection(status=429, remaining=1, reset_in_s=600)
    )
    result = await run_guarded(source, h.redis)
    assert result.errored == 1 and result.errors == {"rate_limited": 1}
    status = await h.redis.hgetall(keys.source_status(source.name))
    assert status["error:rate_limited"] == "1" and "rate limit" in status["last_error"]
    assert h.sink.events == []
    ok = await run_guarded(source, h.redis)  # the next run retries and succeeds
    assert ok.emitted == 1
    status = await h.redis.hgetall(keys.source_status(source.name))
    assert status["runs"] == "2" and status["emitted"] == "1" and status["errored"] == "1"


class StubApi:
    """Serves fixed posts whatever since_id says: an API returning stale ids."""

    def __init__(self, posts: list[dict[str, Any]]) -> None:
        self.posts = posts

    async def user_id(self, username: str) -> str:
        return "42"

    async def user_posts(self, user_id: str, **kw: Any) -> TimelinePage:
        return TimelinePage(posts=list(self.posts), next_token=None, newest_id=None)


async def test_out_of_order_and_repeated_ids_are_not_emitted_twice(
    sink: RecordingSink, sredis: Redis
) -> None:
    def post(i: int) -> dict[str, Any]:
        return {
            "id": str(i),
            "text": f"claim {i}",
            "created_at": "2024-05-01T12:00:00Z",
            "author_id": "42",
        }

    api = StubApi([post(10), post(11)])
    await sredis.set(keys.x_cursor("42"), "0")
    source = XAccountSource(
        ACCOUNT, api=api, sink=sink, redis=sredis, settings=fast_settings(thread_window_s=0)
    )
    await source.run_once()
    assert sink.external_ids() == ["10", "11"]
    api.posts = [post(12), post(11), post(9)]  # 11 again, 9 older than the cursor
    result = await source.run_once()
    assert sink.external_ids() == ["10", "11", "12"]
    assert result.skipped == 2
    # Ids newer than the cursor but already emitted (seen-set) are skipped too.
    await sredis.set(keys.x_cursor("42"), "5")
    api.posts = [post(12), post(13)]
    await source.run_once()
    assert sink.external_ids() == ["10", "11", "12", "13"]
