"""The plugin manager: discovery, enabling by config, registration with attribution.

Order of work (see :meth:`PluginManager.load`):

1. decide which entry points may load: ``COPILOTKIT_PLUGINS`` (comma list, empty = none) limits
   them, ``[plugins] enabled`` limits them, ``[plugins] disabled`` blocks names;
2. import each allowed entry point of the ``copilotkit_runtime`` group; an import failure is a
   :class:`PluginError` naming the plugin and its distribution, with the cause chained;
3. register the built-in default plugins (unless disabled) the same way;
4. ``check_pending()``: a misspelled hook name in a plugin is an error;
5. check ``[plugins] require`` (name plus optional version range);
6. call the registration hooks one plugin at a time so each registry knows who added what.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy
from packaging.requirements import InvalidRequirement, Requirement

from . import hookspecs
from .actions import Action
from .errors import PluginError
from .guardrails import Guardrail
from .middleware import RequestMiddleware
from .providers import AgentProvider
from .registry import Registry
from .runhooks import RunHook
from .stores import StateStore

log = logging.getLogger("copilotkit_runtime.plugins")

ENTRY_POINT_GROUP = "copilotkit_runtime"
ENV_PLUGINS = "COPILOTKIT_PLUGINS"
ENV_TRACE = "COPILOTKIT_TRACE_PLUGINS"

DEFAULT_PLUGINS: dict[str, str] = {
    "builtin-memory-store": "copilotkit_runtime.default_plugins.memory_store",
    "builtin-sqlite-store": "copilotkit_runtime.default_plugins.sqlite_store",
    "builtin-topic-guardrail": "copilotkit_runtime.default_plugins.topic_guardrail",
    "builtin-demo-agent": "copilotkit_runtime.default_plugins.demo_agent",
}

@dataclass(frozen=True)
class RegistrationKind:
    """One kind of thing plugins register: its registry, its hook, what it must be."""

    #: the :class:`Registries` attribute (and the key in ``PluginInfo.registered``)
    name: str
    hook: str
    #: how errors and ``copilotkit-runtime plugins`` call one
    label: str
    #: registered values are subclasses (types) or instances of it
    base: type


#: Every registration kind, in the order the hooks run. Adding a kind is adding a row here
#: (and its hookspec).
REGISTRATION_KINDS: tuple[RegistrationKind, ...] = (
    RegistrationKind("providers", "register_agent_providers", "agent provider type", AgentProvider),
    RegistrationKind("stores", "register_stores", "store type", StateStore),
    RegistrationKind("guardrails", "register_guardrails", "guardrail type", Guardrail),
    RegistrationKind("actions", "register_actions", "backend action", Action),
    RegistrationKind("middleware", "register_middleware", "request middleware", RequestMiddleware),
    RegistrationKind("run_hooks", "register_run_hooks", "run hook", RunHook),
)

#: where to find the plugin that provides a well-known type, for "pip install" hints.
KNOWN_PACKAGES: dict[tuple[str, str], str] = {
    ("providers", "langgraph"): "copilotkit-provider-langgraph",
    ("providers", "crewai"): "copilotkit-provider-crewai",
    ("stores", "redis"): "copilotkit-store-redis",
}


@dataclass
class PluginInfo:
    """One plugin as ``copilotkit-runtime plugins`` lists it (the JSON keys are public API)."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    entry_point: str | None
    default: bool
    enabled: bool
    reason: str = ""
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    #: built-ins this plugin replaced, as ``"kind:name (plugin)"``
    replaces: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "entry_point": self.entry_point,
            "default": self.default,
            "enabled": self.enabled,
            "reason": self.reason,
            "hooks": self.hooks,
            "registered": self.registered,
            "replaces": self.replaces,
        }


@dataclass
class PluginSelection:
    enabled: list[str] | None = None
    disabled: list[str] = field(default_factory=list)
    require: list[str] = field(default_factory=list)


class Registries:
    """The tables filled by the registration hooks, one per :data:`REGISTRATION_KINDS` row."""

    providers: Registry[type[AgentProvider]]
    stores: Registry[type[StateStore]]
    guardrails: Registry[type[Guardrail]]
    actions: Registry[Action]
    middleware: Registry[RequestMiddleware]
    run_hooks: Registry[RunHook]

    def __init__(self) -> None:
        for kind in REGISTRATION_KINDS:
            setattr(self, kind.name, Registry(kind.label, kind.base))

    def by_kind(self, kind: str) -> Registry[Any]:
        return getattr(self, kind)


class PluginManager:
    """One per runtime instance; no module globals."""

    def __init__(
        self,
        selection: PluginSelection | None = None,
        *,
        extra_plugins: Mapping[str, object] | None = None,
        load_entry_points: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.selection = selection or PluginSelection()
        self.extra_plugins = dict(extra_plugins or {})
        self.load_entry_points = load_entry_points
        self.environ = os.environ if environ is None else environ
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.registries = Registries()
        self.infos: dict[str, PluginInfo] = {}
        #: with ``tolerant``, a plugin that fails to import is listed (disabled, with its
        #: error) instead of failing the load (``copilotkit-runtime plugins``)
        self.tolerant = False
        self._loaded = False

    # -- discovery ---------------------------------------------------------------------------

    def _allowed_by_env(self) -> set[str] | None:
        raw = self.environ.get(ENV_PLUGINS)
        if raw is None:
            return None
        return {p.strip() for p in raw.split(",") if p.strip()}

    def _blocked_reason(self, name: str, distribution: str | None, default: bool) -> str:
        names = {name, distribution} - {None}
        if names & set(self.selection.disabled):
            return "disabled by [plugins] disabled"
        if default:
            return ""
        env_allowed = self._allowed_by_env()
        if env_allowed is not None and not names & env_allowed:
            return f"not listed in {ENV_PLUGINS}"
        if self.selection.enabled is not None and not names & set(self.selection.enabled):
            return "not listed in [plugins] enabled"
        return ""

    @staticmethod
    def entry_points() -> list[metadata.EntryPoint]:
        return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)

    def load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.environ.get(ENV_TRACE):
            self.pm.trace.root.setwriter(lambda msg: log.warning("plugin trace: %s", msg.rstrip()))
            self.pm.enable_tracing()

        if self.load_entry_points:
            for ep in self.entry_points():
                self._load_entry_point(ep)
        for name, plugin in self.extra_plugins.items():
            self._register(name, plugin, module=getattr(plugin, "__name__", repr(plugin)),
                           distribution=None, version=None, entry_point=None, default=False)
        for name, module_name in DEFAULT_PLUGINS.items():
            reason = self._blocked_reason(name, None, default=True)
            if reason:
                self.infos[name] = PluginInfo(name, module_name, "copilotkit-runtime", _own_version(),
                                              None, True, False, reason)
                continue
            module = importlib.import_module(module_name)
            self._register(name, module, module=module_name, distribution="copilotkit-runtime",
                           version=_own_version(), entry_point=None, default=True)

        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            plugin_name = self.pm.get_name(exc.plugin) or repr(exc.plugin)
            raise PluginError(f'Plugin "{plugin_name}" implements an unknown hook: {exc}') from exc

        self._check_required()
        self._call_registration_hooks()

    def _load_entry_point(self, ep: metadata.EntryPoint) -> None:
        dist = ep.dist.name if ep.dist is not None else None
        version = ep.dist.version if ep.dist is not None else None
        reason = self._blocked_reason(ep.name, dist, default=False)
        if reason:
            self.infos[ep.name] = PluginInfo(ep.name, ep.value, dist, version, ep.value, False, False, reason)
            return
        if ep.name in self.infos:
            other = self.infos[ep.name]
            raise PluginError(
                f'Two distributions provide the plugin "{ep.name}": {other.distribution} and {dist}. '
                "Uninstall one of them."
            )
        try:
            plugin = ep.load()
        except Exception as exc:
            where = f"{dist} {version}" if dist else "unknown distribution"
            if self.tolerant:
                self.infos[ep.name] = PluginInfo(ep.name, ep.value, dist, version, ep.value, False,
                                                 False, f"failed to load: {type(exc).__name__}: {exc}")
                return
            raise PluginError(
                f'Error loading plugin "{ep.name}" ({where}) from {ep.value}: '
                f"{type(exc).__name__}: {exc}. Fix or uninstall it, or start with "
                f'{ENV_PLUGINS}="" (no plugins) or [plugins] disabled = ["{ep.name}"].'
            ) from exc
        self._register(ep.name, plugin, module=ep.value, distribution=dist, version=version,
                       entry_point=ep.value, default=False)

    def _register(self, name: str, plugin: object, *, module: str, distribution: str | None,
                  version: str | None, entry_point: str | None, default: bool) -> None:
        try:
            self.pm.register(plugin, name=name)
        except ValueError as exc:
            raise PluginError(f'Plugin "{name}" is registered twice: {exc}') from exc
        hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        if not hooks:
            log.warning('plugin "%s" (%s) implements no hook: it does nothing. Hooks are functions '
                        "decorated with copilotkit_runtime.hookimpl.", name, module)
        self.infos[name] = PluginInfo(name, module, distribution, version, entry_point, default,
                                      True, "", hooks)

    def _check_required(self) -> None:
        for spec in self.selection.require:
            try:
                req = Requirement(spec)
            except InvalidRequirement as exc:
                raise PluginError(f"[plugins] require: '{spec}' is not a valid requirement: {exc}") from exc
            info = next(
                (i for i in self.infos.values()
                 if req.name in {i.name, i.distribution} or
                 _normalize(req.name) in {_normalize(i.name), _normalize(i.distribution or "")}),
                None,
            )
            if info is None:
                raise PluginError(
                    f"Required plugin '{req.name}' is not installed. Install it with: "
                    f"pip install '{spec}'"
                )
            if not info.enabled:
                raise PluginError(f"Required plugin '{req.name}' is installed but {info.reason}.")
            if req.specifier and (info.version is None or not req.specifier.contains(info.version, prereleases=True)):
                raise PluginError(
                    f"Required plugin '{req.name}' must be {req.specifier}, but version "
                    f"{info.version} ({info.distribution}) is installed. Run: pip install '{spec}'"
                )

    def _call_registration_hooks(self) -> None:
        for kind in REGISTRATION_KINDS:
            registry = self.registries.by_kind(kind.name)
            hook_name = kind.hook
            caller = getattr(self.pm.hook, hook_name)
            # pluggy calls implementations in reverse list order (tryfirst ... trylast).
            for impl in reversed(caller.get_hookimpls()):
                info = self.infos[impl.plugin_name]
                registry._bind(impl.plugin_name, info.default)
                try:
                    impl.function(registry=registry)
                except PluginError:
                    raise
                except Exception as exc:
                    raise PluginError(
                        f'Plugin "{impl.plugin_name}" ({info.distribution} {info.version}) failed in '
                        f"{hook_name}: {type(exc).__name__}: {exc}"
                    ) from exc
                finally:
                    registry._bind("<direct>", False)
        for kind in REGISTRATION_KINDS:
            registry = self.registries.by_kind(kind.name)
            for reg in registry:
                self.infos[reg.plugin].registered.setdefault(kind.name, []).append(reg.name)
            for old, new in registry.replaced:
                # The one rule: a third-party plugin's registration wins over a built-in's.
                self.infos[new.plugin].replaces.append(f"{kind.name}:{old.name} ({old.plugin})")
                log.info("%s '%s' of %s is replaced by plugin %s", registry.kind, old.name,
                         old.plugin, new.plugin)

    # -- lifecycle hooks -----------------------------------------------------------------------

    def embedded_agents(self) -> tuple[str, dict[str, Any]] | None:
        """The first plugin's answer to ``embedded_agents``, with that plugin's name."""
        for impl in reversed(self.pm.hook.embedded_agents.get_hookimpls()):
            try:
                answer = impl.function(environ=self.environ)
            except Exception as exc:
                raise PluginError(f'Plugin "{impl.plugin_name}" failed in embedded_agents: '
                                  f"{type(exc).__name__}: {exc}") from exc
            if answer:
                if not isinstance(answer, Mapping):
                    raise PluginError(f'Plugin "{impl.plugin_name}": embedded_agents must return '
                                      f"a mapping of agent sections, not {type(answer).__name__}.")
                return impl.plugin_name, {name: dict(section) for name, section in answer.items()}
        return None

    def call_startup_hooks(self, runtime: Any) -> list[Any]:
        return list(self.pm.hook.startup(runtime=runtime))

    def call_shutdown_hooks(self, runtime: Any) -> list[Any]:
        results = []
        for impl in reversed(self.pm.hook.shutdown.get_hookimpls()):
            try:
                results.append(impl.function(runtime=runtime))
            except Exception:
                log.exception("plugin %s failed in shutdown", impl.plugin_name)
        return results

    def plugin_list(self) -> list[PluginInfo]:
        return sorted(self.infos.values(), key=lambda i: (i.default, i.name))

    def hint_for(self, kind: str, name: str) -> str:
        package = KNOWN_PACKAGES.get((kind, name))
        known = ", ".join(self.registries.by_kind(kind).names()) or "none"
        hint = f"Registered {self.registries.by_kind(kind).kind}s: {known}."
        if package:
            disabled = next((i for i in self.infos.values()
                             if i.distribution == package and not i.enabled), None)
            if disabled:
                return f"{hint} The plugin '{disabled.name}' provides it but is {disabled.reason}."
            return f"{hint} Install the plugin that provides it: pip install {package}"
        return f"{hint} Is the plugin that provides it installed and enabled? See: copilotkit-runtime plugins"


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _own_version() -> str | None:
    try:
        return metadata.version("copilotkit-runtime")
    except metadata.PackageNotFoundError:
        return None


