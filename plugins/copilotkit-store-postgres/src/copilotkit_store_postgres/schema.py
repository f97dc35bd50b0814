"""Migrations: numbered steps recorded in ``<prefix>schema_version``, applied at open under an
advisory lock (so instances starting together migrate once), all in one transaction.

Tables (``<schema>.<prefix>…``):

* ``threads`` (thread_id, agent) → state, messages (json), version, run_id, node_name,
  updated_at (epoch seconds), expires_at, owner (reserved for per-owner listing);
* ``event_seq`` thread_id → last_seq, and ``events`` (thread_id, seq) → run_id, event, agent
  (the agent whose run it was; ``NULL`` in rows written before schema version 3);
* ``locks`` thread_id → run_id, expires_at, stop_requested, instance_id and token (the lease:
  the store instance holding it and a token per acquisition; ``NULL`` in rows written before
  schema version 4);
* ``instances`` instance_id → expires_at: a store instance's heartbeat (one per process, a new
  id at every start), refreshed while it lives; a lock whose instance's row has expired (or is
  gone) is free;
* ``thread_info`` thread_id → owner, agent, name, archived, created_at, updated_at (epoch
  seconds);
* ``live`` thread_id → run_id, next_n, final, updated_at, relay, agent (the run's, schema
  version 5) and ``live_batches``
  (thread_id, run_id, n) → events, final, relay (``relay``: a nonce per run start, so a run
  reusing the previous run's id gets a relay of its own).
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg


def _steps(schema: str, prefix: str) -> list[list[str]]:
    def t(name: str) -> str:
        return f'"{schema}"."{prefix}{name}"'

    def ix(name: str) -> str:
        return f'"{prefix}{name}"'

    return [
        # 1: the initial tables
        [
            f"CREATE TABLE IF NOT EXISTS {t('threads')} ("
            " thread_id text NOT NULL, agent text NOT NULL,"
            " state json NOT NULL, messages json NOT NULL, version bigint NOT NULL,"
            " run_id text, node_name text, updated_at double precision NOT NULL,"
            " expires_at timestamptz, owner text,"
            " PRIMARY KEY (thread_id, agent))",
            f"CREATE INDEX IF NOT EXISTS {ix('threads_expires')} ON {t('threads')} (expires_at)"
            " WHERE expires_at IS NOT NULL",
            f"CREATE TABLE IF NOT EXISTS {t('event_seq')} ("
            " thread_id text PRIMARY KEY, last_seq bigint NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t('events')} ("
            " thread_id text NOT NULL, seq bigint NOT NULL, run_id text NOT NULL,"
            " event json NOT NULL, PRIMARY KEY (thread_id, seq))",
            f"CREATE TABLE IF NOT EXISTS {t('locks')} ("
            " thread_id text PRIMARY KEY, run_id text NOT NULL,"
            " expires_at timestamptz NOT NULL, stop_requested boolean NOT NULL DEFAULT false)",
            f"CREATE TABLE IF NOT EXISTS {t('live')} ("
            " thread_id text PRIMARY KEY, run_id text NOT NULL, next_n integer NOT NULL,"
            " final boolean NOT NULL, updated_at timestamptz NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t('live_batches')} ("
            " thread_id text NOT NULL, run_id text NOT NULL, n integer NOT NULL,"
            " events json NOT NULL, final boolean NOT NULL,"
            " PRIMARY KEY (thread_id, run_id, n))",
        ],
        # 2: who owns each thread, its name and dates (thread lists per user); threads written
        # before belong to the anonymous owner ('': the only one there was)
        [
            f"CREATE TABLE IF NOT EXISTS {t('thread_info')} ("
            " thread_id text PRIMARY KEY, owner text NOT NULL, agent text NOT NULL,"
            " name text, archived boolean NOT NULL DEFAULT false,"
            " created_at double precision NOT NULL, updated_at double precision NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {ix('thread_info_by_owner')} ON {t('thread_info')}"
            " (owner, created_at DESC, thread_id DESC)",
            f"INSERT INTO {t('thread_info')} (thread_id, owner, agent, created_at, updated_at)"
            f" SELECT thread_id, '', min(agent), min(updated_at), max(updated_at)"
            f" FROM {t('threads')} GROUP BY thread_id ON CONFLICT (thread_id) DO NOTHING",
        ],
        # 3: history per (agent, thread): each event names its run's agent (rows from before
        # keep NULL and are every agent's)
        [
            f"ALTER TABLE {t('events')} ADD COLUMN IF NOT EXISTS agent text",
        ],
        # 4: dead-holder detection: instance heartbeats, leases naming their instance and a
        # token; relay nonces (locks and relays written before keep NULL: they count as alive
        # until their expiry, as before)
        [
            f"CREATE TABLE IF NOT EXISTS {t('instances')} ("
            " instance_id text PRIMARY KEY, expires_at timestamptz NOT NULL)",
            f"ALTER TABLE {t('locks')} ADD COLUMN IF NOT EXISTS instance_id text",
            f"ALTER TABLE {t('locks')} ADD COLUMN IF NOT EXISTS token text",
            f"ALTER TABLE {t('live')} ADD COLUMN IF NOT EXISTS relay text",
            f"ALTER TABLE {t('live_batches')} ADD COLUMN IF NOT EXISTS relay text",
        ],
        # 5: the live run's agent (AG-UI /connect follows only its own agent's run)
        [
            f"ALTER TABLE {t('live')} ADD COLUMN IF NOT EXISTS agent text",
        ],
    ]


SCHEMA_VERSION = 5


async def migrate(conn: psycopg.AsyncConnection[Any], schema: str, prefix: str) -> int:
    """Bring the tables to :data:`SCHEMA_VERSION`; return the version found before."""
    steps = _steps(schema, prefix)
    key = int.from_bytes(hashlib.sha1(f"{schema}.{prefix}".encode()).digest()[:8], "big",
                         signed=True)
    version_table = f'"{schema}"."{prefix}schema_version"'
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {version_table} (version integer NOT NULL)")
        cur = await conn.execute(f"SELECT max(version) FROM {version_table}")
        row = await cur.fetchone()
        found = int(row[0]) if row and row[0] is not None else 0
        if found > len(steps):
            raise psycopg.errors.FeatureNotSupported(
                f"the tables are at schema version {found}, newer than this plugin's "
                f"{len(steps)}: upgrade copilotkit-store-postgres")
        for number, statements in enumerate(steps, start=1):
            if number <= found:
                continue
            for statement in statements:
                await conn.execute(statement)
            await conn.execute(f"INSERT INTO {version_table} (version) VALUES (%s)", (number,))
    return found
