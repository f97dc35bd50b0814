"""Redis-specific behaviour beyond the contract: connection options, key layout, encoding,
discovery and configuration."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis as sync_redis
from redis_store_helpers import RedisServer, needs_redis_server

from copilotkit_runtime.errors import ConfigError, StoreError
from copilotkit_runtime.stores import ThreadRecord
from copilotkit_runtime.testing import make_runtime
from copilotkit_store_redis import RedisOptions, RedisStore
from copilotkit_store_redis.options import redact_url

pytestmark = pytest.mark.anyio


def _tid() -> str:
    return f"thread-{uuid.uuid4().hex}"


# -- connections -------------------------------------------------------------------------------

@needs_redis_server
async def test_unix_socket_url(redis_server: RedisServer | None,
                               make_store: Callable[..., RedisStore]) -> None:
    if redis_server is None:
        pytest.skip("REDIS_URL is set: the unix socket test needs the tests' own redis-server")
    store = make_store(url=f"unix://{redis_server.unix_socket}?db=0")
    await store.open()
    try:
        saved = await store.save_thread(ThreadRecord(_tid(), "agent", state={"via": "unix"}))
        got = await store.get_thread(saved.thread_id, "agent")
        assert got is not None and got.state == {"via": "unix"}
    finally:
        await store.close()


async def test_db_option_overrides_the_url(redis_url: str, make_store: Callable[..., RedisStore],
                                           key_prefix: str) -> None:
    store = make_store(url=redis_url, db=3)
    await store.open()
    tid = _tid()
    try:
        await store.save_thread(ThreadRecord(tid, "agent"))
        assert store.describe()["db"] == 3
    finally:
        await store.close()
    key = f"{key_prefix}thread:{tid}:agent"
    db3 = sync_redis.Redis.from_url(redis_url)
    db3.connection_pool.connection_kwargs["db"] = 3  # the URL's path would win over db=3
    try:
        assert db3.exists(key) == 1
        db3.delete(key, f"{key_prefix}agents:{tid}")
    finally:
        db3.close()
    # The URL's own database (0 here, or whatever REDIS_URL names) does not have it.
    plain = sync_redis.Redis.from_url(redis_url)
    try:
        if plain.connection_pool.connection_kwargs.get("db", 0) != 3:
            assert plain.exists(key) == 0
    finally:
        plain.close()


@pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("redis-server") is None,
                    reason="needs openssl and redis-server")
async def test_rediss_url_with_tls(tmp_path: Path, key_prefix: str) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=certs)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr")
    (certs / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "server.crt")
    server = RedisServer(tmp_path / "redis")
    tls_port = server.port
    server.extra_args = ["--port", "0", "--tls-port", str(tls_port), "--tls-cert-file",
                         str(certs / "server.crt"), "--tls-key-file", str(certs / "server.key"),
                         "--tls-ca-cert-file", str(certs / "ca.crt"), "--tls-auth-clients", "no"]
    server.start()
    try:
        store = RedisStore(RedisOptions(url=f"rediss://127.0.0.1:{tls_port}/0",
                                        key_prefix=key_prefix,
                                        ssl_ca_certs=str(certs / "ca.crt")))
        await store.open()
        try:
            saved = await store.save_thread(ThreadRecord(_tid(), "agent", state={"tls": True}))
            got = await store.get_thread(saved.thread_id, "agent")
            assert got is not None and got.state == {"tls": True}
        finally:
            await store.close()
        # Without the CA the server's certificate is refused: a clear startup error.
        untrusted = RedisStore(RedisOptions(url=f"rediss://127.0.0.1:{tls_port}/0"))
        with pytest.raises(StoreError, match="Cannot connect to the Redis store"):
            await untrusted.open()
    finally:
        server.close()


# -- keys and encoding ---------------------------------------------------------------------------

async def test_key_prefixes_keep_stores_apart(make_store: Callable[..., RedisStore],
                                              key_prefix: str) -> None:
    a = make_store(key_prefix=key_prefix + "a:")
    b = make_store(key_prefix=key_prefix + "b:")
    await a.open()
    await b.open()
    try:
        tid = _tid()
        await a.save_thread(ThreadRecord(tid, "agent", state={"who": "a"}))
        assert await b.get_thread(tid, "agent") is None
        lease = await a.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        other = await b.acquire_run_lock(tid, "r2", 10)
        assert other is not None
        await lease.release()
        await other.release()
    finally:
        await a.close()
        await b.close()


async def test_colons_in_ids_cannot_collide(store: RedisStore) -> None:
    tid = _tid()
    await store.save_thread(ThreadRecord(f"{tid}:x", "y", state={"k": 1}))
    await store.save_thread(ThreadRecord(tid, "x:y", state={"k": 2}))
    one, two = await store.get_thread(f"{tid}:x", "y"), await store.get_thread(tid, "x:y")
    assert one is not None and two is not None
    assert (one.state, two.state) == ({"k": 1}, {"k": 2})
    await store.delete_thread(tid)
    assert await store.get_thread(tid, "x:y") is None
    assert await store.get_thread(f"{tid}:x", "y") is not None


async def test_saving_without_ttl_makes_a_thread_permanent_again(store: RedisStore,
                                                                 redis_url: str,
                                                                 key_prefix: str) -> None:
    tid = _tid()
    await store.save_thread(ThreadRecord(tid, "agent"), ttl=60)
    await store.save_thread(ThreadRecord(tid, "agent"))
    client = sync_redis.Redis.from_url(redis_url)
    try:
        assert client.pttl(f"{key_prefix}thread:{tid}:agent") == -1
        assert client.pttl(f"{key_prefix}agents:{tid}") == -1
    finally:
        client.close()


async def test_history_ttl_option(make_store: Callable[..., RedisStore], redis_url: str,
                                  key_prefix: str) -> None:
    store = make_store(history_ttl_seconds=120)
    await store.open()
    tid = _tid()
    try:
        await store.append_events(tid, "r1", [{"type": "RUN_STARTED"}])
    finally:
        await store.close()
    client = sync_redis.Redis.from_url(redis_url)
    try:
        assert 0 < client.pttl(f"{key_prefix}history:{tid}") <= 120_000
    finally:
        client.close()


async def test_a_corrupted_record_is_a_clear_error(store: RedisStore, redis_url: str,
                                                   key_prefix: str) -> None:
    tid = _tid()
    client = sync_redis.Redis.from_url(redis_url)
    try:
        client.hset(f"{key_prefix}thread:{tid}:agent", mapping={"d": "{not json", "v": 1})
    finally:
        client.close()
    with pytest.raises(StoreError, match="not a valid record"):
        await store.get_thread(tid, "agent")


async def test_large_history_batches(store: RedisStore) -> None:
    tid = _tid()
    await store.append_events(tid, "r1", [{"i": i, "text": "x" * 50} for i in range(2500)])
    events = await store.get_events(tid)
    assert [e.seq for e in events] == list(range(1, 2501))
    page = await store.get_events(tid, after=2400, limit=50)
    assert [e.event["i"] for e in page] == list(range(2400, 2450))


async def test_state_written_by_one_instance_is_read_by_another(
        make_store: Callable[..., RedisStore]) -> None:
    a, b = make_store(), make_store()
    await a.open()
    await b.open()
    try:
        tid = _tid()
        await a.save_thread(ThreadRecord(tid, "agent", state={"from": "a"},
                                         messages=[{"id": "m", "role": "user", "content": "é"}]))
        got = await b.get_thread(tid, "agent")
        assert got is not None and got.state == {"from": "a"} and got.version == 1
        assert got.messages[0]["content"] == "é"
    finally:
        await a.close()
        await b.close()


# -- secrets -------------------------------------------------------------------------------------

def test_passwords_are_redacted() -> None:
    assert redact_url("redis://user:s3cret@host:6379/0") == "redis://user:***@host:6379/0"
    assert redact_url("rediss://:s3cret@host/1") == "rediss://:***@host/1"
    assert "s3cret" not in redact_url("unix:///tmp/r.sock?db=1&password=s3cret")
    store = RedisStore(RedisOptions(url="redis://user:s3cret@127.0.0.1:1/0"))
    assert "s3cret" not in str(store.describe())


async def test_startup_error_names_the_url_without_the_password() -> None:
    store = RedisStore(RedisOptions(url="redis://user:s3cret@127.0.0.1:1/0", connect_timeout=1))
    with pytest.raises(StoreError) as caught:
        await store.open()
    assert "redis://user:***@127.0.0.1:1/0" in caught.value.message
    assert "s3cret" not in caught.value.message
    assert "fail_fast" in caught.value.message


# -- discovery and configuration -----------------------------------------------------------------

def test_the_entry_point_registers_the_store_type(tmp_path: Path, redis_url: str) -> None:
    runtime = make_runtime({"store": {"type": "redis", "redis": {"url": redis_url}}},
                           tmp_path=tmp_path, load_entry_points=True)
    assert isinstance(runtime.store, RedisStore)
    registration = runtime.registries.stores.registration("redis")
    assert registration is not None and registration.plugin == "redis"


def test_the_url_comes_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "copilotkit.toml"
    config.write_text('[store]\ntype = "redis"\n[store.redis]\nurl = "${REDIS_URL}"\n'
                      'key_prefix = "app1:"\ndb = 2\npool_size = 8\nconnect_timeout = 0.5\n'
                      'socket_timeout = 1.5\n')
    from copilotkit_runtime import Runtime, load_settings

    settings = load_settings(config, env={"REDIS_URL": "redis://:pw@redis.internal:6380/0"})
    runtime = Runtime(settings).build()
    store = runtime.store
    assert isinstance(store, RedisStore)
    options = store.options
    assert (options.url, options.key_prefix, options.db, options.pool_size) == (
        "redis://:pw@redis.internal:6380/0", "app1:", 2, 8)
    assert (options.connect_timeout, options.socket_timeout) == (0.5, 1.5)
    with pytest.raises(ConfigError, match="REDIS_URL is not set"):
        load_settings(config, env={})


@pytest.mark.parametrize(("options", "key"), [
    ({"url": "http://user:s3cret@host"}, "store.redis.url"),
    ({"pool_size": 0}, "store.redis.pool_size"),
    ({"poolsize": 4}, "store.redis.poolsize"),
])
def test_bad_options_are_config_errors_naming_the_key(tmp_path: Path, options: dict[str, object],
                                                      key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_runtime({"store": {"type": "redis", "redis": options}}, tmp_path=tmp_path, load_entry_points=True)
    assert key in caught.value.message
    assert "s3cret" not in caught.value.message


async def test_ping_of_a_closed_store_is_a_store_error() -> None:
    store = RedisStore(RedisOptions())
    with pytest.raises(StoreError, match="not open"):
        await store.ping()


@needs_redis_server
async def test_password_in_the_url(tmp_path: Path, key_prefix: str) -> None:
    server = RedisServer(tmp_path / "redis", extra_args=["--requirepass", "s3cret"]).start()
    try:
        good = RedisStore(RedisOptions(url=f"redis://:s3cret@127.0.0.1:{server.port}/0",
                                       key_prefix=key_prefix))
        await good.open()
        try:
            await good.save_thread(ThreadRecord(_tid(), "agent"))
        finally:
            await good.close()
        for url in (f"redis://:wrong@127.0.0.1:{server.port}/0",
                    f"redis://127.0.0.1:{server.port}/0"):
            with pytest.raises(StoreError, match="Cannot connect to the Redis store") as caught:
                await RedisStore(RedisOptions(url=url)).open()
            assert "wrong" not in caught.value.message
    finally:
        server.close()


async def test_history_entries_of_an_older_release_are_every_agents(
        store: RedisStore, redis_url: str, key_prefix: str) -> None:
    """Entries written before history was kept per agent name no agent: every agent sees them,
    and the per-agent read goes on past other agents' entries to fill ``limit``."""
    tid = _tid()
    client = sync_redis.Redis.from_url(redis_url)
    try:
        client.rpush(store._key("history", tid), '[1,"old",{"i":0}]')
    finally:
        client.close()
    await store.append_events(tid, "r-b", [{"i": n} for n in range(1, 1500)], agent="b")
    await store.append_events(tid, "r-a", [{"i": 1500}, {"i": 1501}], agent="a")
    mine = await store.get_events(tid, agent="a")
    assert [(e.seq, e.run_id, e.agent) for e in mine] == [
        (1, "old", None), (1501, "r-a", "a"), (1502, "r-a", "a")]
    assert [e.seq for e in await store.get_events(tid, agent="a", after=1, limit=1)] == [1501]
    assert len(await store.get_events(tid, agent="b")) == 1500
    assert len(await store.get_events(tid)) == 1502
