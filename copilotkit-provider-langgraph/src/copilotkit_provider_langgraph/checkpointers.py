"""The LangGraph checkpointers threads live in, opened at startup and closed at shutdown.

* ``memory``: ``InMemorySaver``, one per agent; threads die with the process.
* ``sqlite``: ``AsyncSqliteSaver`` (``langgraph-checkpoint-sqlite``) on a file; threads survive
  a restart. One file per agent by default, so two agents never share a thread id.
* ``postgres``: ``AsyncPostgresSaver`` on a connection pool (extra ``[postgres]``).
* ``auto``: the graph's own checkpointer when it was compiled with one, else ``memory``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from copilotkit_runtime.errors import ConfigError

from .options import CheckpointerOptions

POSTGRES_HINT = "pip install 'copilotkit-provider-langgraph[postgres]'"


def check_available(options: CheckpointerOptions, where: str) -> None:
    """Fail at build time (not at the first request) when a backend's package is missing."""
    if options.type == "postgres":
        try:
            import langgraph.checkpoint.postgres.aio  # noqa: F401
            import psycopg_pool  # noqa: F401
        except ImportError as exc:
            raise ConfigError(
                f"{where}: checkpointer 'postgres' needs the Postgres extra: {POSTGRES_HINT} "
                f"({exc})"
            ) from exc


def sqlite_path(options: CheckpointerOptions, agent: str, config_dir: Path, data_dir: Path) -> Path:
    if options.path:
        path = Path(options.path.replace("{agent}", agent)).expanduser()
        return path if path.is_absolute() else config_dir / path
    return data_dir / "langgraph" / f"{agent}.sqlite"


class Checkpointers:
    """Opens savers on demand (one per file / URL / memory agent) and closes them all."""

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        self._savers: dict[str, BaseCheckpointSaver[Any]] = {}

    async def get(self, options: CheckpointerOptions, agent: str, *, config_dir: Path,
                  data_dir: Path, where: str) -> BaseCheckpointSaver[Any]:
        kind = options.type
        if kind in ("memory", "auto"):
            key = f"memory:{agent}"
        elif kind == "sqlite":
            key = f"sqlite:{sqlite_path(options, agent, config_dir, data_dir).resolve()}"
        else:
            key = f"postgres:{options.url}"
        saver = self._savers.get(key)
        if saver is None:
            saver = await self._open(options, agent, config_dir=config_dir, data_dir=data_dir,
                                     where=where)
            self._savers[key] = saver
        return saver

    async def _open(self, options: CheckpointerOptions, agent: str, *, config_dir: Path,
                    data_dir: Path, where: str) -> BaseCheckpointSaver[Any]:
        if options.type in ("memory", "auto"):
            return InMemorySaver()
        if options.type == "sqlite":
            import aiosqlite
            from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

            path = sqlite_path(options, agent, config_dir, data_dir)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = await aiosqlite.connect(str(path))
            except Exception as exc:
                raise ConfigError(f"{where}: cannot open the SQLite checkpointer {path}: {exc}") from exc
            self._stack.push_async_callback(conn.close)
            sqlite_saver = AsyncSqliteSaver(conn)
            await sqlite_saver.setup()
            return sqlite_saver
        check_available(options, where)
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        pool: Any = AsyncConnectionPool(
            options.url or "", open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        )
        try:
            await pool.open(wait=True, timeout=30)
        except Exception as exc:
            await pool.close()
            raise ConfigError(f"{where}: cannot connect the Postgres checkpointer: {exc}") from exc
        self._stack.push_async_callback(pool.close)
        saver = AsyncPostgresSaver(conn=pool)
        await saver.setup()
        return saver

    async def close(self) -> None:
        self._savers.clear()
        await self._stack.aclose()
        self._stack = contextlib.AsyncExitStack()
