"""Settings: ``copilotkit.toml`` plus ``COPILOTKIT_*`` environment variables, validated.

Where settings come from, later wins:

1. built-in defaults (memory store, the ``demo`` agent, ``127.0.0.1:8000/api/copilotkit``);
2. the config file: ``--config PATH``, else ``$COPILOTKIT_CONFIG``, else ``./copilotkit.toml``
   if it exists;
3. environment variables: ``COPILOTKIT_SECTION__KEY=value`` (``__`` separates levels, values
   are parsed as JSON when they parse, else kept as strings), plus the shortcuts
   ``COPILOTKIT_HOST``, ``COPILOTKIT_PORT``, ``COPILOTKIT_BASE_PATH`` and ``COPILOTKIT_STORE``.

Secrets never need to be in the file: any string value ``"${NAME}"`` is replaced by the
environment variable ``NAME`` (an error if it is unset; ``"${NAME:-default}"`` gives a default).

Example::

    default_agent = "research"

    [server]
    port = 8000
    cors_origins = ["http://localhost:3000"]

    [store]
    type = "sqlite"
    [store.sqlite]
    path = "threads.db"

    [agents.research]
    provider = "langgraph"
    graph = "my_app.graphs:research"
    description = "Researches a topic"

    [guardrails.topics]
    deny_list = ["politics"]
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError

ENV_PREFIX = "COPILOTKIT_"
ENV_CONFIG = "COPILOTKIT_CONFIG"
DEFAULT_CONFIG_FILE = "copilotkit.toml"

# Variables that configure something other than settings keys.
_NON_SETTING_ENV = {"COPILOTKIT_CONFIG", "COPILOTKIT_PLUGINS", "COPILOTKIT_TRACE_PLUGINS"}
_SHORTCUTS = {
    "COPILOTKIT_HOST": ("server", "host"),
    "COPILOTKIT_PORT": ("server", "port"),
    "COPILOTKIT_BASE_PATH": ("server", "base_path"),
    "COPILOTKIT_STORE": ("store", "type"),
    "COPILOTKIT_LOG_LEVEL": ("log_level",),
    "COPILOTKIT_ENV": ("server", "environment"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LimitSettings(_Strict):
    """Limits on what one request may ask of the server."""

    max_body_bytes: int = Field(2_000_000, gt=0, description="largest accepted request body")
    max_query_depth: int = Field(20, gt=0, description="deepest GraphQL selection nesting")
    max_aliases: int = Field(30, ge=0, description="most aliases in one GraphQL document")
    max_query_tokens: int = Field(5_000, gt=0, description="most tokens in one GraphQL document")
    max_messages: int = Field(2_000, gt=0, description="most messages in one run request")
    max_audio_bytes: int = Field(25_000_000, gt=0, description="largest audio file /transcribe takes")
    max_query_bytes: int = Field(
        100_000, gt=0, description="largest GraphQL document (the query text), in bytes"
    )
    document_cache_bytes: int = Field(
        8_000_000, ge=0, description="most bytes of GraphQL documents kept parsed in the cache"
    )


#: the origins a browser may call from by default: local development servers on any port
LOOPBACK_ORIGINS = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]

#: what reaches providers of the incoming headers by default (``x-*``: any header starting so)
DEFAULT_FORWARD_HEADERS = ["authorization", "x-*"]


class ServerSettings(_Strict):
    host: str = Field("127.0.0.1", description="interface to listen on (0.0.0.0: every one)")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0: any free port)")
    base_path: str = Field("/api/copilotkit", description="where both protocols are served "
                           "(the frontend's runtimeUrl)")
    cors_origins: list[str] = Field(
        default_factory=lambda: list(LOOPBACK_ORIGINS),
        description="origins browsers may call from ('*' in a port or host part matches any; "
        "[\"*\"] alone: any origin, never with credentials)")
    cors_allow_credentials: bool = Field(
        True, description="let listed origins send cookies (never for '*')")
    introspection: bool | None = Field(
        None, description="answer GraphQL introspection (default: only when bound to a "
        "loopback host, i.e. in development)")
    forward_headers: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FORWARD_HEADERS),
        description="incoming headers passed to providers (RunRequest.headers); 'x-*' matches "
        "a prefix; proxy and hop-by-hop headers and cookie only when named exactly")
    provider_headers: dict[str, str] = Field(
        default_factory=dict, description="headers set for every provider request; they win "
        "over incoming ones of the same name")
    tune_gc: bool = Field(
        True, description="serve: freeze startup objects and collect garbage less often "
        "(less CPU and shorter pauses under load, about 10 MB more memory)"
    )
    environment: Literal["production", "development"] = Field(
        "production", description="'development' relaxes defaults meant for production "
        "(e.g. error details go to clients); COPILOTKIT_ENV sets it too"
    )
    expose_error_details: bool | None = Field(
        None, description="include the exception type and message (never the traceback) in run "
        "errors (default: only in development)"
    )
    shutdown_grace: float = Field(
        30.0, ge=0, description="seconds runs in progress may take to finish once the server "
        "is told to stop (SIGTERM); the rest are then ended and stored"
    )
    header_timeout: float = Field(
        10.0, gt=0, description="seconds a client may take to send a request's headers"
    )
    body_timeout: float = Field(
        30.0, gt=0, description="seconds a client may take to send a request's body"
    )

    @property
    def error_details(self) -> bool:
        """Whether run errors carry the exception's text (``expose_error_details``)."""
        if self.expose_error_details is not None:
            return self.expose_error_details
        return self.environment == "development"

    @field_validator("base_path")
    @classmethod
    def _base_path(cls, value: str) -> str:
        value = "/" + value.strip("/")
        return value if value != "/" else ""


class LoggingSettings(_Strict):
    format: Literal["text", "json"] = Field(
        "text", description="'json': one JSON object per line with the request id, thread id, "
        "run id, agent and principal id (secrets redacted)")


class PluginSettings(_Strict):
    enabled: list[str] | None = Field(
        None, description="if set, only these entry-point plugins load (names or distributions)"
    )
    disabled: list[str] = Field(default_factory=list, description="plugins that must not load")
    require: list[str] = Field(
        default_factory=list, description="plugins that must be present, e.g. 'langgraph>=0.1'"
    )


class StoreSettings(BaseModel):
    """``type`` picks a registered store type; ``[store.TYPE]`` holds its options."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("memory", description="a registered store type: memory, sqlite, or a "
                      "plugin's (redis, postgres)")
    thread_ttl_seconds: float | None = Field(None, gt=0, description="forget a thread this long "
                                             "after its last run (default: keep)")
    lock_ttl_seconds: float = Field(
        10.0, gt=0, description="seconds a run lock lasts without renewal (renewed every third "
        "of it): how long a thread stays busy after its process died without a trace "
        "(same-host SQLite clears that at once)")
    record_events: bool = Field(True, description="keep each run's compacted events "
                                "(AG-UI /connect replays them)")
    live_relay: bool = Field(True, description="relay live runs through the store, so /connect "
                             "on another instance follows a run in progress (stores that can)")
    live_relay_interval_seconds: float = Field(
        0.1, ge=0, description="at most one relay write per run per this many seconds")

    def options_for(self, type_name: str) -> dict[str, Any]:
        extra = self.model_extra or {}
        value = extra.get(type_name, {})
        return dict(value) if isinstance(value, Mapping) else {}

    def unknown_keys(self) -> list[str]:
        return [k for k, v in (self.model_extra or {}).items() if not isinstance(v, Mapping)]


class AgentSettings(BaseModel):
    """``provider`` picks a registered provider type; the other keys are its options."""

    model_config = ConfigDict(extra="allow")

    provider: str
    description: str = ""

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ActionSettings(_Strict):
    """``[actions.NAME]``: a backend action the LLM agents may call."""

    handler: str = Field(description="'package.module:function' or 'file.py:function'")
    description: str | None = Field(None, description="default: the function's docstring")
    parameters: dict[str, Any] | None = Field(
        None, description="JSON schema of the arguments (default: from the type hints)")
    timeout: float | None = Field(None, gt=0, description="seconds one call may take")


class GuardrailSettings(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str | None = None

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Settings(_Strict):
    server: ServerSettings = Field(default_factory=lambda: ServerSettings())
    limits: LimitSettings = Field(default_factory=lambda: LimitSettings())
    plugins: PluginSettings = Field(default_factory=lambda: PluginSettings())
    store: StoreSettings = Field(default_factory=lambda: StoreSettings())
    agents: dict[str, AgentSettings] = Field(
        default_factory=lambda: {"demo": AgentSettings(provider="demo",
                                                       description="A demo agent that needs no LLM")}
    )
    guardrails: dict[str, GuardrailSettings] = Field(default_factory=dict)
    actions: dict[str, ActionSettings] = Field(default_factory=dict)
    #: ``[mcp.NAME]``: MCP servers whose tools become backend actions; validated by the plugin
    #: that serves them (``pip install copilotkit-mcp``), so the core needs no MCP library.
    mcp: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: ``[telemetry]`` and ``[metrics]``: validated by the plugin that serves them
    #: (``pip install copilotkit-observability``), so the core needs no OpenTelemetry SDK.
    telemetry: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    logging: LoggingSettings = Field(default_factory=lambda: LoggingSettings())
    auth: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="authentication: [auth.api_key], [auth.jwt] "
        "(copilotkit-auth) or another plugin's section")
    request_rules_guardrail: str = Field(
        "topics", description="guardrail type that applies per-request client rules"
    )
    default_agent: str | None = Field(
        None, description="agent for requests that name none (default: the only agent, if one)"
    )
    data_dir: str = Field(".copilotkit", description="where built-ins keep files (relative to the config)")
    log_level: str = Field("info", description="debug, info, warning or error")

    #: directory relative paths in the config are resolved against (not a config key).
    config_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    config_file: Path | None = Field(None, exclude=True)

    @field_validator("agents")
    @classmethod
    def _agent_names(cls, agents: dict[str, AgentSettings]) -> dict[str, AgentSettings]:
        for name in agents:
            if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
                raise ValueError(f"agent name '{name}' may only use letters, digits, '_', '-' and '.'")
        return agents

    @field_validator("actions")
    @classmethod
    def _action_names(cls, actions: dict[str, ActionSettings]) -> dict[str, ActionSettings]:
        for name in actions:
            # What every model API accepts as a tool name.
            if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", name):
                raise ValueError(f"action name '{name}' may only use letters, digits, '_' and '-' "
                                 "(at most 64)")
        return actions

    @property
    def agents_configured(self) -> bool:
        """Whether the config (file or environment) names agents, rather than the defaults."""
        return "agents" in self.model_fields_set

    def resolve_path(self, value: str | Path) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.config_dir / path

    @property
    def data_path(self) -> Path:
        return self.resolve_path(self.data_dir)

    def introspection_enabled(self) -> bool:
        """``[server] introspection``, defaulting to on only in development (a loopback host)."""
        if self.server.introspection is not None:
            return self.server.introspection
        return self.server.host in ("127.0.0.1", "localhost", "::1")

    def effective_default_agent(self) -> str | None:
        if self.default_agent:
            return self.default_agent
        return next(iter(self.agents)) if len(self.agents) == 1 else None


# -- loading ---------------------------------------------------------------------------------

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


def _interpolate(value: Any, env: Mapping[str, str], path: str) -> Any:
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(f"{path}: environment variable {name} is not set (referenced as ${{{name}}}).")
        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, env, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _parse_env_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _set_path(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, raw in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name in _NON_SETTING_ENV:
            continue
        if name in _SHORTCUTS:
            keys = _SHORTCUTS[name]
        else:
            rest = name[len(ENV_PREFIX):]
            if "__" not in rest and rest.lower() not in Settings.model_fields:
                continue  # not ours (e.g. COPILOTKIT_API_KEY read by a plugin)
            keys = tuple(k.lower() for k in rest.split("__") if k)
        _set_path(data, keys, _parse_env_value(raw))
    return data


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def format_validation_error(exc: ValidationError, source: str, prefix: str = "") -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__")
        key = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"  {key}: {msg}")
    return f"Invalid configuration in {source}:\n" + "\n".join(lines)


def load_settings(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read and validate settings. Raise :class:`ConfigError` with the offending key."""
    environ = os.environ if env is None else env
    explicit = path if path is not None else environ.get(ENV_CONFIG)
    file: Path | None
    if explicit:
        file = Path(explicit).expanduser()
        if not file.is_file():
            raise ConfigError(f"Config file {file} does not exist.")
    else:
        candidate = Path.cwd() / DEFAULT_CONFIG_FILE
        file = candidate if candidate.is_file() else None

    data: dict[str, Any] = {}
    source = "the environment"
    if file is not None:
        source = str(file)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file} is not valid TOML: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"Cannot read config file {file}: {exc}") from exc
        source_for_env = f"{file} (or COPILOTKIT_* variables)"
    else:
        source_for_env = "COPILOTKIT_* environment variables"

    store = data.get("store")
    if isinstance(store, str):
        data["store"] = {"type": store}
    data = _deep_merge(data, env_overrides(environ))
    if overrides:
        data = _deep_merge(data, overrides)
    data = _interpolate(data, environ, "")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source_for_env if data else source)) from exc
    bad = settings.store.unknown_keys()
    if bad:
        raise ConfigError(
            f"Invalid configuration in {source}:\n"
            + "\n".join(f"  store.{k}: unknown key (store options go in [store.<type>])" for k in bad)
        )
    settings.config_dir = file.parent.resolve() if file is not None else Path.cwd()
    settings.config_file = file.resolve() if file is not None else None
    return settings
