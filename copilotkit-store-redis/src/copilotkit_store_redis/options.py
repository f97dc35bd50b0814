"""The ``[store.redis]`` options and the URL helpers that keep secrets out of messages."""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, field_validator

from copilotkit_runtime.stores import StoreOptions

SCHEMES = ("redis", "rediss", "unix")


class RedisOptions(StoreOptions):
    """Options of the Redis store (``[store.redis]``).

    Put the URL in the environment, not in the file: ``url = "${REDIS_URL}"``.
    """

    url: str = Field(
        "redis://127.0.0.1:6379/0",
        description="redis://[user:password@]host:port/db, rediss://... (TLS) or "
                    "unix:///path/to/redis.sock?db=N",
    )
    db: int | None = Field(None, ge=0, description="database number; overrides the one in the URL")
    key_prefix: str = Field("copilotkit:", description="prefix of every key and channel")
    pool_size: int = Field(32, ge=2, description="most connections to Redis (one more is used "
                                                 "for stop notifications)")
    pool_timeout: float = Field(5.0, gt=0, description="seconds to wait for a free connection")
    connect_timeout: float = Field(2.0, gt=0, description="seconds to wait for a connection")
    socket_timeout: float = Field(5.0, gt=0, description="seconds to wait for a reply")
    fail_fast: bool = Field(
        True, description="refuse to start when Redis is unreachable; if false, start anyway, "
                          "report not-ready on /health and connect when Redis comes up")
    retries: int = Field(1, ge=0, le=10, description="retries of a read after a connection error")
    stop_poll_interval: float = Field(
        1.0, gt=0, description="while the stop-notification subscription is down, how often "
                               "a run checks its stop flag instead")
    instance_ttl_seconds: float = Field(
        5.0, ge=0.5, description="each process's store heartbeats with this expiry; a run lock "
                                 "whose process stopped heartbeating (killed) is free after it, "
                                 "whatever lock_ttl_seconds says")
    history_ttl_seconds: float | None = Field(
        None, gt=0, description="expire a thread's event history this long after its last append")
    live_relay_max_batches: int = Field(
        20000, ge=100, description="most batches kept in a live run's relay stream (MAXLEN ~); "
                                   "a follower joining after its start was trimmed gets the "
                                   "history only")
    live_relay_ttl_seconds: float = Field(
        3600.0, gt=0, description="a live run's relay expires this long after its last batch")
    live_relay_linger_seconds: float = Field(
        60.0, gt=0, description="a run's relay expires this long after its final batch")
    live_relay_followers: int = Field(
        64, ge=1, description="most connections per process for following live runs of other "
                              "instances (AG-UI connect)")
    ssl_ca_certs: str | None = Field(None, description="CA bundle for rediss:// (PEM file)")
    ssl_certfile: str | None = Field(None, description="client certificate for rediss://")
    ssl_keyfile: str | None = Field(None, description="client key for rediss://")
    ssl_cert_reqs: Literal["required", "optional", "none"] = Field(
        "required", description="verify the server certificate (rediss://)")
    ssl_check_hostname: bool = Field(True, description="check the certificate's host name")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        scheme = urlsplit(value).scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(
                f"'{redact_url(value)}' is not a Redis URL: use redis://host:port/db, "
                "rediss://host:port/db (TLS) or unix:///path/to/redis.sock")
        return value

    @field_validator("key_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if any(ch.isspace() for ch in value):
            raise ValueError("key_prefix may not contain white space")
        return value


def redact_url(url: str) -> str:
    """``url`` with its password (in the authority or the query string) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = parts.query
    if query:
        pairs = [(k, "***" if k.lower() in ("password", "pass") else v)
                 for k, v in parse_qsl(query, keep_blank_values=True)]
        query = urlencode(pairs, safe="*/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
