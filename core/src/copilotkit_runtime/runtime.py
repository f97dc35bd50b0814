"""The runtime: settings + plugins → registries → store, guardrails, providers → engine.

Building (:meth:`Runtime.build`) is synchronous and does every check that can be done without
I/O, so ``copilotkit-runtime check`` and ``serve`` fail the same way, early. :meth:`startup`
opens the store, starts the providers and calls the ``startup`` hooks; :meth:`shutdown` undoes
it. One runtime per process is usual; tests build as many as they like.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .actions import Action, missing_actions_text
from .config import AgentSettings, Settings, format_validation_error, load_settings
from .engine import AgentEntry, Engine, EngineOptions
from .errors import ConfigError, UnknownTypeError
from .guardrails import Guardrail
from .imports import import_object
from .middleware import RequestMiddleware
from .plugins import PluginManager, PluginSelection
from .providers import AgentProvider, ProviderContext
from .runhooks import RunHook
from .stores import StateStore

log = logging.getLogger("copilotkit_runtime")



@contextlib.contextmanager
def _names_section(section: str, what: str) -> Iterator[None]:
    """A plugin class's constructor failing is a ConfigError naming the config section."""
    try:
        yield
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{section}: {what} could not be created: "
                          f"{type(exc).__name__}: {exc}") from exc


class Runtime:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        plugins: Mapping[str, object] | None = None,
        load_entry_points: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.plugin_manager = PluginManager(
            PluginSelection(
                enabled=self.settings.plugins.enabled,
                disabled=list(self.settings.plugins.disabled),
                require=list(self.settings.plugins.require),
            ),
            extra_plugins=plugins,
            load_entry_points=load_entry_points,
            environ=environ,
        )
        self.store: StateStore
        self.providers: dict[str, AgentProvider] = {}
        self.guardrails: list[Guardrail] = []
        self.middleware: list[RequestMiddleware] = []
        self.run_hooks: list[RunHook] = []
        self.engine: Engine
        self.actions: dict[str, Action] = {}
        self._unavailable_actions: list[str] = []
        #: the plugin whose ``embedded_agents`` are served (no agents in the config), if any
        self.embedded_by: str | None = None
        self._built = False
        self._started = False

    @classmethod
    def from_config(cls, path: str | Path | None = None, **kwargs: Any) -> Runtime:
        return cls(load_settings(path), **kwargs).build()

    @property
    def registries(self) -> Any:
        return self.plugin_manager.registries

    # -- building ------------------------------------------------------------------------------

    def build(self) -> Runtime:
        if self._built:
            return self
        self.plugin_manager.load()
        settings = self.settings
        self._embed_agents()
        self.store = self._build_store()
        self.guardrails = self._build_guardrails()
        self.middleware = self._build_middleware()
        self.run_hooks = self._build_run_hooks()
        self.actions = self._build_actions()
        context = ProviderContext(
            config_dir=settings.config_dir,
            store=self.store,
            actions=self.actions,
            data_dir=settings.data_path,
        )
        agents: dict[str, AgentEntry] = {}
        for name, agent in settings.agents.items():
            provider = self._build_provider(name, agent.provider, agent.description,
                                            agent.options(), context)
            self.providers[name] = provider
            for info in provider.agents():
                if info.name in agents:
                    raise ConfigError(
                        f"agents.{name}: agent name '{info.name}' is already served by "
                        f"agents.{next(n for n, p in self.providers.items() if p is agents[info.name].provider)}."
                    )
                agents[info.name] = AgentEntry(info, provider)
        # Actions providers found while being built (a copilotkit-remote endpoint's) reach the
        # agents built before them; names still missing wait for startup only when something
        # discovers actions then ([mcp.*] servers).
        for provider in self.providers.values():
            provider.offer_actions(self.actions)
        if not settings.mcp:
            self._check_actions()
        if self.authenticates and type(self.store).claim_thread is StateStore.claim_thread:
            raise ConfigError(
                f"store.type: the '{settings.store.type}' store keeps no thread owners "
                "(StateStore.claim_thread), so with authentication configured every user "
                "would share every thread. Use a store that does (memory, sqlite, redis, "
                "postgres).")
        default = settings.effective_default_agent()
        if settings.default_agent and default not in agents:
            raise ConfigError(f"default_agent: '{default}' is not a configured agent "
                              f"(configured: {', '.join(sorted(agents)) or 'none'}).")
        rules_type = self.registries.guardrails.get(settings.request_rules_guardrail)
        self.engine = Engine(agents, self.store, self.guardrails,
                             EngineOptions.from_settings(settings, rules_type),
                             hooks=self.run_hooks)
        self._built = True
        return self

    def _embed_agents(self) -> None:
        """With no agents in the config, a plugin may offer some (``embedded_agents``): e.g.
        an LLM chat agent when its API key is in the environment. Else the demo agent stays."""
        if self.settings.agents_configured:
            return
        answer = self.plugin_manager.embedded_agents()
        if answer is None:
            return
        plugin, sections = answer
        try:
            self.settings.agents = {name: AgentSettings.model_validate(section)
                                    for name, section in sections.items()}
        except ValidationError as exc:
            raise ConfigError(f"Plugin {plugin} offered invalid embedded agents: {exc}") from exc
        self.embedded_by = plugin

    def _build_actions(self) -> dict[str, Action]:
        """Backend actions: those plugins registered, then the config's ``[actions.NAME]``."""
        actions = {reg.name: reg.value for reg in self.registries.actions}
        for name, section in self.settings.actions.items():
            where = f"actions.{name}"
            if name in actions:
                raise ConfigError(f"{where}: a plugin already registers a backend action "
                                  f"named '{name}'; choose another name.")
            handler = import_object(section.handler, base_dir=self.settings.config_dir,
                                    where=f"{where}.handler")
            if not callable(handler):
                raise ConfigError(f"{where}.handler: '{section.handler}' is not callable.")
            try:
                actions[name] = Action.from_function(
                    handler, name=name, description=section.description,
                    parameters=section.parameters, timeout=section.timeout)
            except Exception as exc:
                raise ConfigError(f"{where}: cannot describe '{section.handler}' as an action "
                                  f"({type(exc).__name__}: {exc}); give parameters = {{...}} "
                                  "(a JSON schema) explicitly.") from exc
        return actions

    def add_actions(self, actions: Mapping[str, Action], *,
                    unavailable: list[str] | tuple[str, ...] = ()) -> None:
        """For plugins' ``startup`` hooks: backend actions found at startup (an MCP server's
        tools). They join :attr:`actions` (the caller keeps names unique) and are offered to
        every provider: LLM agents without an ``actions`` list take them all, those with a
        list the ones it names. ``unavailable`` says why some could not be listed (a server
        that did not start): an agent naming a missing action then fails its runs, saying so,
        instead of stopping the runtime."""
        self.actions.update(actions)
        self._unavailable_actions.extend(unavailable)
        for provider in self.providers.values():
            provider.offer_actions(actions, unavailable=tuple(unavailable))

    def add_context_source(self, source: Any) -> None:
        """For plugins' ``startup`` hooks: an async callable ``source(request)`` returning
        AG-UI ``Context`` entries (description, value) that join each run's context at its
        start, after the client's readables (an MCP server's resources). LLM agents put them in
        the system prompt; LangGraph graphs get them in ``copilotkit.context``. A source that
        raises is logged and left out of that run."""
        self.engine.context_sources.append(source)

    def _check_actions(self) -> None:
        """Every action name an agent lists must exist (once discovery is over)."""
        for provider in self.providers.values():
            missing = provider.missing_actions()
            if not missing:
                continue
            message = missing_actions_text(f"agents.{provider.name}", missing, self.actions,
                                           self._unavailable_actions)
            if self._unavailable_actions:
                log.error("%s Its runs fail until they are available.", message)
                continue
            raise ConfigError(message)

    def _build_middleware(self) -> list[RequestMiddleware]:
        out: list[RequestMiddleware] = []
        claimed: set[str] = set()
        for reg in self.registries.middleware:
            value = reg.value
            if isinstance(value, type) and issubclass(value, RequestMiddleware):
                section = value.auth_section
                if section:
                    claimed.add(section)
                try:
                    value = value.from_settings(self.settings)
                except ValidationError as exc:
                    raise ConfigError(format_validation_error(
                        exc, self._source(), f"auth.{section}." if section else "")) from exc
            if value is not None:
                out.append(value)
        unclaimed = sorted(set(self.settings.auth) - claimed)
        if unclaimed:
            raise ConfigError(
                f"{', '.join(f'[auth.{name}]' for name in unclaimed)} is configured but no "
                "installed plugin handles it: `pip install copilotkit-auth` for api_key and "
                f"jwt (handled here: {', '.join(sorted(claimed)) or 'none'}).")
        return out

    def _build_run_hooks(self) -> list[RunHook]:
        out: list[RunHook] = []
        claimed: set[str] = set()
        for reg in self.registries.run_hooks:
            value: Any = reg.value
            if isinstance(value, type):
                hook_type: Any = value
                section = hook_type.config_section
                if section:
                    claimed.add(section)
                try:
                    value = hook_type.from_settings(self.settings)
                except ValidationError as exc:
                    raise ConfigError(format_validation_error(
                        exc, self._source(), f"{section}." if section else "")) from exc
            if value is not None:
                out.append(value)
        for section in ("telemetry", "metrics"):
            if getattr(self.settings, section) and section not in claimed:
                raise ConfigError(
                    f"[{section}] is configured but no installed plugin handles it: "
                    "`pip install copilotkit-observability`.")
        return out

    @property
    def authenticates(self) -> bool:
        """Whether any middleware authenticates requests (else every request is anonymous)."""
        return any(m.authenticates_users for m in self.middleware)

    def _lookup(self, kind: str, name: str, where: str) -> Any:
        cls = self.registries.by_kind(kind).get(name)
        if cls is None:
            raise UnknownTypeError(
                f"{where}: unknown {self.registries.by_kind(kind).kind} '{name}'. "
                + self.plugin_manager.hint_for(kind, name)
            )
        return cls

    def _build_store(self) -> StateStore:
        store_settings = self.settings.store
        cls: type[StateStore] = self._lookup("stores", store_settings.type, "store.type")
        raw = store_settings.options_for(store_settings.type)
        try:
            options = cls.Options.model_validate(raw, context={"settings": self.settings})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, self._source(), f"store.{store_settings.type}.")) from exc
        with _names_section(f"store.{store_settings.type}", f"store '{store_settings.type}'"):
            store = cls(options)
            store.configure(self.settings)
        return store

    def _build_guardrails(self) -> list[Guardrail]:
        out = []
        for name, section in self.settings.guardrails.items():
            type_name = section.type or name
            cls: type[Guardrail] = self._lookup("guardrails", type_name, f"guardrails.{name}.type")
            try:
                options = cls.Options.model_validate(section.options())
            except ValidationError as exc:
                raise ConfigError(format_validation_error(exc, self._source(), f"guardrails.{name}.")) from exc
            with _names_section(f"guardrails.{name}", f"guardrail '{type_name}'"):
                out.append(cls(name, options))
        return out

    def _build_provider(self, name: str, type_name: str, description: str,
                        raw: dict[str, Any], context: ProviderContext) -> AgentProvider:
        cls: type[AgentProvider] = self._lookup("providers", type_name, f"agents.{name}.provider")
        try:
            options = cls.Options.model_validate(raw, context={"settings": self.settings})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, self._source(), f"agents.{name}.")) from exc
        with _names_section(f"agents.{name}", f"provider '{type_name}'"):
            provider = cls(name, options, context, description)
        return provider

    def _source(self) -> str:
        return str(self.settings.config_file) if self.settings.config_file else "the configuration"

    # -- lifecycle -----------------------------------------------------------------------------

    async def startup(self) -> None:
        if self._started:
            return
        self.build()
        self.engine.draining = False
        await self.store.open()
        started: list[AgentProvider] = []
        try:
            for provider in self.providers.values():
                await provider.startup()
                started.append(provider)
            for result in self.plugin_manager.call_startup_hooks(self):
                if inspect.isawaitable(result):
                    await result
            self._check_actions()  # discovery is over: every listed action must exist
        except BaseException:
            for result in self.plugin_manager.call_shutdown_hooks(self):
                if inspect.isawaitable(result):
                    with contextlib.suppress(Exception):
                        await result
            for provider in reversed(started):
                with contextlib.suppress(Exception):
                    await provider.shutdown()
            await self.store.close()
            raise
        self._started = True

    async def shutdown(self) -> None:
        if not self._started:
            return
        self._started = False
        # Runs still going are cancelled; they free their threads (and their relays say they
        # ended) while the store is still open.
        await self.engine.close()
        for result in self.plugin_manager.call_shutdown_hooks(self):
            if inspect.isawaitable(result):
                try:
                    await result
                except Exception:
                    log.exception("a plugin's shutdown hook failed")
        for provider in self.providers.values():
            try:
                await provider.shutdown()
            except Exception:
                log.exception("provider %s failed to shut down", provider.name)
        await self.store.close()

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any = None) -> AsyncIterator[Runtime]:
        """``async with runtime.lifespan():`` starts and stops the runtime (FastAPI-compatible)."""
        await self.startup()
        try:
            yield self
        finally:
            await self.shutdown()

    @property
    def started(self) -> bool:
        return self._started
