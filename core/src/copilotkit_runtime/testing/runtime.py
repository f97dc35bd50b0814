"""Build runtimes and run requests in tests."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ag_ui.core import Message, RunAgentInput, Tool, UserMessage

from ..actions import Action
from ..config import Settings, load_settings
from ..errors import UnknownTypeError
from ..plugins import ENV_PLUGINS
from ..providers import AgentProvider, ProviderContext, RunRequest
from ..runtime import Runtime
from ..stores import StateStore


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
                 load_entry_points: bool | Sequence[str] = False, tmp_path: Path | None = None,
                 env: Mapping[str, str] | None = None) -> Runtime:
    """A built (not started) runtime with only the plugins the test names.

    ``plugins`` adds plugin objects by name (a module or any object with hook functions, e.g.
    :data:`~copilotkit_runtime.testing.scripted_plugin`); the built-ins are always there.
    Installed plugins (entry points) are *not* loaded unless asked: ``load_entry_points=True``
    loads every installed one, a list of entry point names (``["redis"]``) loads those only,
    so a test does not change with what else happens to be installed.
    """
    settings = make_settings(config, tmp_path=tmp_path, env=env)
    environ = dict(env or {})
    if not isinstance(load_entry_points, bool):
        if ENV_PLUGINS in environ:
            raise ValueError(f"make_runtime: give load_entry_points=[...] or env "
                             f"{ENV_PLUGINS}, not both")
        environ[ENV_PLUGINS] = ",".join(load_entry_points)
    runtime = Runtime(settings, plugins=plugins, load_entry_points=bool(load_entry_points)
                      or not isinstance(load_entry_points, bool), environ=environ)
    try:
        return runtime.build()
    except UnknownTypeError as exc:
        if load_entry_points is not False:
            raise
        raise UnknownTypeError(
            f"{exc} (make_runtime loads no installed plugin unless asked: pass "
            "plugins={name: plugin}, load_entry_points=[\"<entry point>\"] or "
            "load_entry_points=True)") from exc


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


def provider_context(tmp_path: Path | None = None, *, store: StateStore | None = None,
                     actions: Mapping[str, Action] | None = None,
                     config_dir: Path | None = None) -> ProviderContext:
    """A :class:`~copilotkit_runtime.providers.ProviderContext` for unit-testing a provider
    without a runtime: a memory store (or ``store``), the given backend ``actions``, the config
    and data folders in ``tmp_path`` (a fresh temporary folder if not given)."""
    import tempfile

    from ..default_plugins.memory_store import MemoryStore

    folder = tmp_path or Path(tempfile.mkdtemp(prefix="copilotkit-test-"))
    return ProviderContext(config_dir=config_dir or folder,
                           store=store if store is not None else MemoryStore(),
                           actions=dict(actions or {}), data_dir=folder)


ProviderT = TypeVar("ProviderT", bound=AgentProvider[Any])


def make_provider(provider_type: type[ProviderT], options: Mapping[str, Any] | None = None, *,
                  name: str = "agent", description: str = "",
                  context: ProviderContext | None = None,
                  tmp_path: Path | None = None) -> ProviderT:
    """An instance of ``provider_type`` as the runtime would build it from
    ``[agents.NAME]`` with ``options`` (validated by its ``Options`` model, so a wrong key
    fails here as it would in the config). Not started: ``await provider.startup()``."""
    validated = provider_type.Options.model_validate(dict(options or {}))
    return provider_type(name, validated, context or provider_context(tmp_path), description)
