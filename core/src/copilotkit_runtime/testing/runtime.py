"""Build runtimes and run requests in tests."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ag_ui.core import Message, RunAgentInput, Tool, UserMessage

from ..config import Settings, load_settings
from ..providers import RunRequest
from ..runtime import Runtime


def make_settings(config: Mapping[str, Any] | None = None, *, tmp_path: Path | None = None,
                  env: Mapping[str, str] | None = None) -> Settings:
    """Settings from a dict shaped like ``copilotkit.toml``, ignoring any real config file
    and ``COPILOTKIT_*`` variables of the machine running the tests."""
    settings = load_settings(path=_empty_config(tmp_path), env=dict(env or {}),
                             overrides=dict(config or {}))
    if tmp_path is not None:
        settings.config_dir = tmp_path
    return settings


def _empty_config(tmp_path: Path | None) -> Path:
    import tempfile

    folder = tmp_path or Path(tempfile.mkdtemp(prefix="copilotkit-test-"))
    path = folder / "copilotkit.test.toml"
    if not path.exists():
        path.write_text("")
    return path


def make_runtime(config: Mapping[str, Any] | None = None, *,
                 plugins: Mapping[str, object] | None = None,
                 load_entry_points: bool = True, tmp_path: Path | None = None,
                 env: Mapping[str, str] | None = None) -> Runtime:
    """A built (not started) runtime. ``plugins`` adds plugin objects by name."""
    settings = make_settings(config, tmp_path=tmp_path, env=env)
    return Runtime(settings, plugins=plugins, load_entry_points=load_entry_points,
                   environ=dict(env or {})).build()


def run_request(agent: str, text: str | None = "hello", *, thread_id: str | None = None,
                messages: list[Message] | None = None, state: dict[str, Any] | None = None,
                tools: list[Tool] | None = None, **kwargs: Any) -> RunRequest:
    """A ``RunRequest`` with one user message (or the given ``messages``)."""
    if messages is None:
        messages = [UserMessage(id=str(uuid.uuid4()), content=text)] if text is not None else []
    return RunRequest(
        agent=agent,
        input=RunAgentInput(thread_id=thread_id or str(uuid.uuid4()), run_id=str(uuid.uuid4()),
                            messages=messages, state=state, tools=tools or [], context=[],
                            forwarded_props={}),
        **kwargs,
    )
