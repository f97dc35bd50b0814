"""Finding the graphs a config names: import paths and ``langgraph.json`` files.

An import path is ``package.module:attribute`` (imported normally; the config file's folder is
tried as well) or ``path/to/file.py:attribute`` (loaded from the file, relative to the config
file or the ``langgraph.json``), the two forms ``langgraph.json`` uses. The attribute may be a
compiled graph, an uncompiled ``StateGraph`` or a factory (sync or async, taking nothing or a
``RunnableConfig``) returning either.

Every failure is a :class:`~copilotkit_runtime.errors.ConfigError` naming the agent and the path.
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.graph import StateGraph
from langgraph.pregel import Pregel

from copilotkit_runtime.errors import ConfigError
from copilotkit_runtime.imports import ensure_on_sys_path, import_object


@dataclass(frozen=True)
class GraphSpec:
    """One graph to serve: the agent name, where it comes from, what it is."""

    agent: str
    path: str
    base_dir: Path
    description: str = ""
    where: str = ""  # e.g. "agents.research" or "agents.project (langgraph.json graph 'x')"


def import_graph_object(spec: GraphSpec) -> Any:
    """The object ``spec.path`` points at (a graph or a factory), imported now."""
    obj = import_object(spec.path, base_dir=spec.base_dir, where=spec.where)
    if not (isinstance(obj, (Pregel, StateGraph)) or callable(obj)):
        raise ConfigError(
            f"{spec.where}: graph '{spec.path}' is a {type(obj).__name__}, not a LangGraph graph "
            "or a function returning one."
        )
    return obj


async def resolve_graph(obj: Any, spec: GraphSpec) -> Pregel:
    """A compiled graph from what :func:`import_graph_object` found (calling a factory)."""
    if isinstance(obj, Pregel):
        return obj
    if isinstance(obj, StateGraph):
        return obj.compile()
    try:
        params = [p for p in inspect.signature(obj).parameters.values()
                  if p.default is inspect.Parameter.empty
                  and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    try:
        result = obj({"configurable": {}}) if params else obj()
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        raise ConfigError(
            f"{spec.where}: the graph factory '{spec.path}' failed: {type(exc).__name__}: {exc}"
        ) from exc
    if isinstance(result, StateGraph):
        result = result.compile()
    if not isinstance(result, Pregel):
        raise ConfigError(
            f"{spec.where}: the graph factory '{spec.path}' returned a {type(result).__name__}, "
            "not a LangGraph graph."
        )
    return result


def read_langgraph_json(file: Path, *, where: str, only: list[str] | None = None,
                        descriptions: dict[str, str] | None = None) -> list[GraphSpec]:
    """One :class:`GraphSpec` per graph of a ``langgraph.json`` (``graphs`` section).

    Local ``dependencies`` folders go on ``sys.path`` and ``env`` (a file or a table) fills
    environment variables that are not already set, as ``langgraph dev`` does.
    """
    if not file.is_file():
        raise ConfigError(f"{where}: langgraph_json file {file} does not exist.")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot read {file}: {exc}") from exc
    graphs = data.get("graphs") if isinstance(data, dict) else None
    if not isinstance(graphs, dict) or not graphs:
        raise ConfigError(f"{where}: {file} has no \"graphs\" section.")
    base = file.parent
    for dep in data.get("dependencies") or []:
        if isinstance(dep, str) and dep.startswith((".", "/")) and (base / dep).is_dir():
            ensure_on_sys_path(base / dep)
    _load_env(data.get("env"), base, where)
    if only is not None:
        missing = [g for g in only if g not in graphs]
        if missing:
            raise ConfigError(f"{where}: graphs {missing} are not in {file} "
                              f"(it has: {', '.join(sorted(graphs))}).")
    specs = []
    for graph_id, entry in graphs.items():
        if only is not None and graph_id not in only:
            continue
        description = (descriptions or {}).get(graph_id, "")
        if isinstance(entry, dict):
            path = entry.get("path")
            description = description or str(entry.get("description") or "")
        else:
            path = entry
        if not isinstance(path, str):
            raise ConfigError(f"{where}: graph '{graph_id}' in {file} has no import path.")
        specs.append(GraphSpec(agent=graph_id, path=path, base_dir=base, description=description,
                               where=f"{where} (graph '{graph_id}' of {file})"))
    return specs


def _load_env(env: Any, base: Path, where: str) -> None:
    values: dict[str, str] = {}
    if isinstance(env, dict):
        values = {str(k): str(v) for k, v in env.items()}
    elif isinstance(env, str):
        env_file = base / env
        if not env_file.is_file():
            return
        for line in env_file.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.removeprefix("export ").partition("=")
            values[key.strip()] = value.strip().strip("'\"")
    for key, value in values.items():
        os.environ.setdefault(key, value)
