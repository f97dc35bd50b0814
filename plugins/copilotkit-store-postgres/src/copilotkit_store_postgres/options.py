"""The ``[store.postgres]`` options and the URL helper that keeps the password out of messages."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, ValidationInfo, field_validator

from copilotkit_runtime.stores import StoreOptions

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


class PostgresOptions(StoreOptions):
    """Options of the PostgreSQL store (``[store.postgres]``).

    Put the URL in the environment, not in the file: ``url = "${DATABASE_URL}"``.
    """

    url: str = Field(
        "postgresql://127.0.0.1:5432/postgres",
        description="postgresql://[user[:password]@]host[:port]/dbname[?sslmode=...]")
    schema_name: str = Field("public", alias="schema",
                             description="schema of the tables (created if missing)")
    table_prefix: str = Field("copilotkit_", description="prefix of every table's name")
    pool_size: int = Field(16, ge=1, description="most pooled connections (one more is used "
                                                 "for LISTEN)")
    pool_timeout: float = Field(5.0, gt=0, description="seconds to wait for a free connection")
    connect_timeout: float = Field(5.0, gt=0, description="seconds to wait for a connection")
    fail_fast: bool = Field(
        True, description="refuse to start when PostgreSQL is unreachable; if false, start "
                          "anyway, report not-ready on /health and migrate once it is up")
    stop_poll_interval: float = Field(
        1.0, gt=0, description="while the LISTEN connection is down, how often a run checks "
                               "its stop flag instead")
    instance_ttl_seconds: float = Field(
        5.0, ge=0.5, description="each process's store heartbeats with this expiry; a run lock "
                                 "whose process stopped heartbeating (killed) is free after it, "
                                 "whatever lock_ttl_seconds says")
    live_poll_interval: float = Field(
        1.0, gt=0, description="how often a follower re-reads the relay rows when no "
                               "notification came (covers a missed NOTIFY)")
    live_relay_linger_seconds: float = Field(
        300.0, gt=0, description="a finished run's relay rows are swept this long after its "
                                 "final batch")
    sweep_interval: float = Field(60.0, gt=0, description="seconds between sweeps of expired "
                                                          "threads and finished relays")

    model_config = {"populate_by_name": True, "hide_input_in_errors": True}

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        scheme = urlsplit(value).scheme.lower()
        if scheme not in ("postgres", "postgresql"):
            raise ValueError(f"'{redact_url(value)}' is not a PostgreSQL URL: use "
                             "postgresql://user:password@host:5432/dbname")
        return value

    @field_validator("schema_name", "table_prefix")
    @classmethod
    def _ident(cls, value: str, info: ValidationInfo) -> str:
        empty_ok = info.field_name == "table_prefix" and value == ""
        if not empty_ok and (not _IDENT.match(value) or len(value) > 40):
            raise ValueError(f"'{value}' must be lower-case letters, digits and '_' "
                             "(not starting with a digit), at most 40 characters")
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


def url_password(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        for key, value in parse_qsl(parts.query):
            if key.lower() == "password" and value:
                return value
        return parts.password or None
    except ValueError:
        return None
