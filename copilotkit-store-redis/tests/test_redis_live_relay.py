"""AG-UI ``connect`` on one runtime process follows, live, a run going on another: the run's
events are relayed through Redis (a stream per run), so two processes sharing one Redis behave
as one for ``connect`` too.

Runs use the demo agent with a ``chunk_delay``, so a reply of WORDS words is a run of a few
seconds that B joins while it goes on. The tests check *that* B followed live by order (B's
first event arrived before A's client saw the run finish), never by timing."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from json import loads as json_loads
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as sync_redis
from redis_store_helpers import RedisServer, RuntimeProcess, runtime_env, wait_until, write_config

from copilotkit_runtime.errors import StoreError
from copilotkit_store_redis import RedisOptions, RedisStore

pytestmark = pytest.mark.slow

WORDS = 120  # x chunk_delay 0.05 s: a run of about 6 s
LONG_TEXT = " ".join(f"word{i}" for i in range(WORDS))


@pytest.fixture(scope="module")
def servers(redis_url: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[RuntimeProcess, RuntimeProcess, RuntimeProcess]]:
    """A and B relay live runs; C shares their Redis with ``[store] live_relay = false``."""
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    folder = tmp_path_factory.mktemp("live-relay")
    env = runtime_env(TEST_REDIS_URL=redis_url)
    config = write_config(folder / "copilotkit.toml", redis_url, key_prefix=prefix,
                          chunk_delay=0.05, lock_ttl=3)
    no_relay = write_config(folder / "no-relay.toml", redis_url, key_prefix=prefix,
                            chunk_delay=0.05, lock_ttl=3, live_relay=False)
    processes = [RuntimeProcess(config, env=env), RuntimeProcess(config, env=env),
                 RuntimeProcess(no_relay, env=env)]
    try:
        for process in processes:
            process.start()
        yield processes[0], processes[1], processes[2]
    finally:
        for process in processes:
            process.stop()
        client = sync_redis.Redis.from_url(redis_url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def _run_input(thread_id: str, text: str, run_id: str | None = None) -> dict[str, Any]:
    messages = [{"id": str(uuid.uuid4()), "role": "user", "content": text}] if text else []
    return {"threadId": thread_id, "runId": run_id or str(uuid.uuid4()), "state": {},
            "messages": messages,
            "tools": [], "context": [], "forwardedProps": {}}


def _events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data:"):
            yield json_loads(line[5:].strip())


class RunOnA:
    """``POST {A}/agent/demo/run`` in a thread, recording what A's client sees."""

    def __init__(self, url: str, thread_id: str, text: str, run_id: str | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.streaming = threading.Event()  # the reply's first words arrived
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(url, thread_id, text, run_id),
                                        daemon=True)
        self._thread.start()

    def _run(self, url: str, thread_id: str, text: str, run_id: str | None) -> None:
        try:
            with httpx.stream("POST", f"{url}/agent/demo/run",
                              json=_run_input(thread_id, text, run_id),
                              timeout=120) as response:
                assert response.status_code == 200, response.read()
                for event in _events(response):
                    self.events.append(event)
                    if event["type"] == "TEXT_MESSAGE_CONTENT":
                        self.streaming.set()
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            self.streaming.set()

    @property
    def finished(self) -> bool:
        return any(e["type"] in ("RUN_FINISHED", "RUN_ERROR") for e in list(self.events))

    def join(self) -> list[dict[str, Any]]:
        self._thread.join(120)
        assert not self._thread.is_alive(), "A's run did not end"
        assert self.error is None, self.error
        return self.events


def connect(url: str, thread_id: str, on_event: Callable[[list[dict[str, Any]]], Any] | None = None
            ) -> list[dict[str, Any]]:
    """``POST {url}/agent/demo/connect`` read to its end."""
    seen: list[dict[str, Any]] = []
    with httpx.stream("POST", f"{url}/agent/demo/connect", json=_run_input(thread_id, ""),
                      timeout=120) as response:
        assert response.status_code == 200
        for event in _events(response):
            seen.append(event)
            if on_event is not None and on_event(seen) is False:
                break
    return seen


def _text(events: list[dict[str, Any]]) -> str:
    return "".join(e.get("delta", "") for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")


def _final_state(events: list[dict[str, Any]]) -> Any:
    return [e["snapshot"] for e in events if e["type"] == "STATE_SNAPSHOT"][-1]


def test_connect_on_b_follows_a_run_going_on_a_to_its_end(
        servers: tuple[RuntimeProcess, RuntimeProcess, RuntimeProcess]) -> None:
    a, b, _ = servers
    tid = str(uuid.uuid4())
    run = RunOnA(a.url, tid, LONG_TEXT)
    assert run.streaming.wait(60)
    a_was_finished: list[bool] = []
    seen = connect(b.url, tid, lambda seen: a_was_finished.append(run.finished)
                   if len(seen) == 1 else None)
    ran = run.join()
    assert a_was_finished == [False], "B did not join while the run was going on A"
    # B saw the run exactly as A's own client did, from RUN_STARTED to RUN_FINISHED.
    assert seen == ran
    assert seen[0]["type"] == "RUN_STARTED" and seen[-1]["type"] == "RUN_FINISHED"
    assert seen[0]["input"] == ran[0]["input"]
    assert seen[0]["input"]["messages"][0]["content"] == LONG_TEXT
    assert _text(seen) == f"You said: {LONG_TEXT}"
    assert _final_state(seen) == {"turns": 1, "last_message": LONG_TEXT}

    # Once it has ended, B replays it from history: the same run, compacted.
    replay = connect(b.url, tid)
    assert replay[0]["input"] == ran[0]["input"]
    assert _text(replay) == _text(ran) and _final_state(replay) == _final_state(ran)
    assert replay[-1]["type"] == "RUN_FINISHED"


def test_connect_after_earlier_runs_replays_them_then_follows_the_live_one(
        servers: tuple[RuntimeProcess, RuntimeProcess, RuntimeProcess]) -> None:
    a, b, _ = servers
    tid = str(uuid.uuid4())
    earlier = RunOnA(b.url, tid, "first turn").join()  # on B: the thread moves between them
    run = RunOnA(a.url, tid, LONG_TEXT)
    assert run.streaming.wait(60)
    seen = connect(b.url, tid)
    ran = run.join()
    starts = [i for i, e in enumerate(seen) if e["type"] == "RUN_STARTED"]
    assert len(starts) == 2, "each run exactly once"
    history, live = seen[:starts[1]], seen[starts[1]:]
    assert _text(history) == _text(earlier) == "You said: first turn"
    assert live == ran
    assert _final_state(live) == {"turns": 2, "last_message": LONG_TEXT}


def test_a_live_run_reusing_the_threads_last_run_id_is_still_followed(
        servers: tuple[RuntimeProcess, RuntimeProcess, RuntimeProcess]) -> None:
    """A client may send the run id of the thread's last run again (issue 13): B must not take
    the live run for the stored one that has its id."""
    a, b, _ = servers
    tid, reused = str(uuid.uuid4()), str(uuid.uuid4())
    earlier = RunOnA(b.url, tid, "first turn", run_id=reused).join()
    run = RunOnA(a.url, tid, LONG_TEXT, run_id=reused)
    assert run.streaming.wait(60)
    seen = connect(b.url, tid)
    ran = run.join()
    starts = [i for i, e in enumerate(seen) if e["type"] == "RUN_STARTED"]
    assert len(starts) == 2, [e["type"] for e in seen]
    assert _text(seen[:starts[1]]) == _text(earlier) and seen[starts[1]:] == ran
    # What tells a stored run from a live one with its id: the stored RUN_STARTED is the one
    # the live run relayed.
    replay = connect(b.url, tid)
    assert [e for e in replay if e["type"] == "RUN_STARTED"][-1] == ran[0]


def test_a_reconnect_mid_run_gets_the_run_from_its_start(
        servers: tuple[RuntimeProcess, RuntimeProcess, RuntimeProcess]) -> None:
    a, b, _ = servers
    tid = str(uuid.uuid4())
    run = RunOnA(a.url, tid, LONG_TEXT)
    assert run.streaming.wait(60)
    # A client that goes away after a few events, then comes back (to A's peer, B).
    dropped = connect(b.url, tid, lambda seen: len(seen) < 5)
    assert len(dropped) == 5
    again = connect(b.url, tid)
    ran = run.join()
    assert again == ran
    assert dropped == ran[:5]


def test_with_the_relay_off_connect_replays_history_only(
        servers: tuple[RuntimeProcess, RuntimeProcess, RuntimeProcess]) -> None:
    a, _, c = servers
    tid = str(uuid.uuid4())
    run = RunOnA(a.url, tid, LONG_TEXT)
    assert run.streaming.wait(60)
    # C does not follow the live run: nothing stored yet, so an empty stream, at once.
    assert connect(c.url, tid) == []
    assert not run.finished
    ran = run.join()
    replay = connect(c.url, tid)
    assert replay[0]["input"] == ran[0]["input"]
    assert _text(replay) == _text(ran) and replay[-1]["type"] == "RUN_FINISHED"


def test_a_follower_ends_when_the_running_process_is_killed(
        servers: tuple[RuntimeProcess, RuntimeProcess, RuntimeProcess]) -> None:
    a, b, _ = servers
    doomed = RuntimeProcess(a.config, env=a.env).start()
    try:
        tid = str(uuid.uuid4())
        run = RunOnA(doomed.url, tid, " ".join(f"w{i}" for i in range(2000)))
        assert run.streaming.wait(60)

        def kill_once_live(seen: list[dict[str, Any]]) -> None:
            if len(seen) == 3:
                doomed.kill()  # SIGKILL: no final batch will ever come

        seen = connect(b.url, tid, kill_once_live)
        # The stream ended by itself (the run's lock expired), without a terminal event.
        assert len(seen) >= 3 and seen[0]["type"] == "RUN_STARTED"
        assert seen[-1]["type"] not in ("RUN_FINISHED", "RUN_ERROR")
    finally:
        doomed.kill()


def test_a_follower_ends_cleanly_when_redis_dies_and_relaying_recovers(
        tmp_path: Path, own_redis: RedisServer) -> None:
    env = runtime_env(TEST_REDIS_URL=own_redis.url)
    config = write_config(tmp_path / "copilotkit.toml", own_redis.url, key_prefix="fault:",
                          chunk_delay=0.05, lock_ttl=3)
    a = RuntimeProcess(config, env=env).start()
    b = RuntimeProcess(config, env=env).start()
    try:
        tid = str(uuid.uuid4())
        run = RunOnA(a.url, tid, " ".join(f"w{i}" for i in range(2000)))
        assert run.streaming.wait(60)

        def kill_redis_once_live(seen: list[dict[str, Any]]) -> None:
            if len(seen) == 3:
                own_redis.kill()

        seen = connect(b.url, tid, kill_redis_once_live)  # ends: no hang, no error frame
        assert len(seen) >= 3 and seen[-1]["type"] not in ("RUN_FINISHED", "RUN_ERROR")
        ran = run.join()
        assert ran[-1]["type"] == "RUN_ERROR"  # the run on A fails cleanly, as before

        own_redis.start()
        wait_until(lambda: httpx.get(b.origin + "/health", timeout=5).status_code == 200,
                   what="B to see Redis again")
        wait_until(lambda: httpx.get(a.origin + "/health", timeout=5).status_code == 200,
                   what="A to see Redis again")
        fresh = str(uuid.uuid4())
        again = RunOnA(a.url, fresh, LONG_TEXT)
        assert again.streaming.wait(60)
        followed = connect(b.url, fresh)
        assert followed == again.join() and followed[-1]["type"] == "RUN_FINISHED"
    finally:
        a.stop()
        b.stop()


# -- the store itself ----------------------------------------------------------------------------

def _ev(i: int) -> dict[str, Any]:
    return {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": f" w{i}"}


@pytest.mark.anyio
async def test_a_run_that_lost_its_lock_cannot_disturb_the_next_runs_relay(
        make_store: Callable[..., RedisStore]) -> None:
    store = make_store(live_relay_linger_seconds=5)
    await store.open()
    try:
        old = await store.acquire_run_lock("t", "old", 30)
        assert old is not None
        await store.publish_live("t", "old", [_ev(0)], final=False)
        await store._client().delete(store._key("lock", "t"))  # as if it had expired
        new = await store.acquire_run_lock("t", "new", 10)
        assert new is not None
        await store.publish_live("t", "new", [_ev(10)], final=False)
        await store.publish_live("t", "old", [_ev(1)], final=True)  # too late: ignored
        follow = store.follow_live("t")
        first = await anext(follow)
        assert (first.run_id, first.events, first.final) == ("new", [_ev(10)], False)
        await store.publish_live("t", "new", [_ev(11)], final=True)
        rest = [b async for b in follow]
        assert [e for b in rest for e in b.events] == [_ev(11)] and rest[-1].final
        await new.release()
    finally:
        await store.close()


@pytest.mark.anyio
async def test_a_run_whose_start_was_trimmed_is_not_followed(
        make_store: Callable[..., RedisStore]) -> None:
    store = make_store(live_relay_max_batches=100)
    await store.open()
    try:
        lease = await store.acquire_run_lock("t", "r", 10)
        assert lease is not None
        for i in range(400):
            await store.publish_live("t", "r", [_ev(i)], final=False)
        assert await store._client().xlen(store._key("live", "t") + ":r") < 400  # trimmed
        # Only a tail is left: showing it would show half a run (a message without its start).
        assert [b async for b in store.follow_live("t")] == []
        await store.publish_live("t", "r", [], final=True)
        await lease.release()
    finally:
        await store.close()


@pytest.mark.anyio
async def test_a_follower_whose_redis_dies_gets_a_store_error_not_a_hang(
        own_redis: RedisServer) -> None:
    store = RedisStore(RedisOptions(url=own_redis.url, key_prefix="dies:", socket_timeout=1.0,
                                    connect_timeout=0.5))
    await store.open()
    try:
        lease = await store.acquire_run_lock("t", "r", 30)
        assert lease is not None
        await store.publish_live("t", "r", [_ev(0)], final=False)
        follow = store.follow_live("t")
        assert (await anext(follow)).events == [_ev(0)]
        own_redis.kill()
        with pytest.raises(StoreError, match="unavailable: follow the live run of thread 't'"):
            await asyncio.wait_for(anext(follow), timeout=30)
        await follow.aclose()
    finally:
        await store.close()

