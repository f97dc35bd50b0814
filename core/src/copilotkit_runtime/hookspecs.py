"""The plugin contract: every hook a ``copilotkit_runtime`` plugin may implement.

Hooks are synchronous and run at startup. They *register* things (provider types, store types,
guardrail types, backend actions, request middleware) in a registry the core owns, which
rejects duplicate names and remembers which plugin registered what. Work done per request
happens in the async classes those registrations point at, never through pluggy.

A plugin is a module (or any object) with functions decorated by
``copilotkit_runtime.hookimpl`` whose names match the specs below, exposed through an entry
point in the ``copilotkit_runtime`` group::

    [project.entry-points.copilotkit_runtime]
    my_plugin = "my_package.plugin"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .registry import Registry

PROJECT_NAME = "copilotkit_runtime"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_agent_providers(registry: Registry[Any]) -> None:
    """Register agent provider types.

    Fires once at startup, before the config's ``[agents.*]`` sections are turned into
    provider instances.

    :param registry: call ``registry.add(name, ProviderClass)`` for each type, where
        ``ProviderClass`` subclasses :class:`copilotkit_runtime.providers.AgentProvider`.
        ``name`` is what ``provider = "..."`` in the config refers to.
    :returns: nothing; every implementation is called.
    """


@hookspec
def register_stores(registry: Registry[Any]) -> None:
    """Register state store types.

    Fires once at startup, before the ``[store]`` section picks one.

    :param registry: call ``registry.add(name, StoreClass)`` where ``StoreClass`` subclasses
        :class:`copilotkit_runtime.stores.StateStore`; ``[store] type = "name"`` selects it.
    :returns: nothing; every implementation is called.
    """


@hookspec
def register_guardrails(registry: Registry[Any]) -> None:
    """Register guardrail types.

    Fires once at startup, before the ``[guardrails.*]`` sections create instances.

    :param registry: call ``registry.add(name, GuardrailClass)`` where ``GuardrailClass``
        subclasses :class:`copilotkit_runtime.guardrails.Guardrail`.
    :returns: nothing; every implementation is called.
    """


@hookspec
def register_actions(registry: Registry[Any]) -> None:
    """Register backend actions (server-side tools).

    Fires once at startup. Actions are offered to providers through
    ``ProviderContext.actions``.

    :param registry: call ``registry.add(action.name, action)`` with
        :class:`copilotkit_runtime.actions.Action` instances.
    :returns: nothing; every implementation is called.
    """


@hookspec
def register_middleware(registry: Registry[Any]) -> None:
    """Register request middleware (authentication, before/after each request).

    Fires once at startup. Middleware runs in registration order on every protocol request.

    :param registry: call ``registry.add(name, middleware)`` with
        :class:`copilotkit_runtime.middleware.RequestMiddleware` instances, or subclasses whose
        ``from_settings(settings)`` returns an instance or ``None`` (not configured); one that
        sets ``auth_section`` claims the ``[auth.<auth_section>]`` config section.
    :returns: nothing; every implementation is called.
    """


@hookspec
def register_run_hooks(registry: Registry[Any]) -> None:
    """Register run hooks: code that sees each run's conversation and outcome.

    Fires once at startup. For every run the engine awaits, in registration order, each
    hook's ``before_run`` (may refuse the run or amend its messages), then ``after_run`` with
    the messages it produced or ``on_error`` when it failed (refusals included); metrics
    plugins use the sync observations (``run_started``, ``run_ended``, ``store_operation``,
    ``llm_usage``). See :mod:`copilotkit_runtime.runhooks` and docs/observability.md.

    :param registry: call ``registry.add(name, hook)`` with
        :class:`copilotkit_runtime.runhooks.RunHook` instances, or subclasses whose
        ``from_settings(settings)`` returns an instance or ``None`` (not configured); one that
        sets ``config_section`` claims that top-level config section (``[metrics]``).
    :returns: nothing; every implementation is called.
    """


@hookspec(firstresult=True)
def embedded_agents(environ: Mapping[str, str]) -> Mapping[str, Mapping[str, Any]] | None:
    """Agents to serve when the configuration names none (``copilotkit-runtime serve`` with
    no config file): e.g. an LLM chat agent when the plugin's API key is in the environment.

    :param environ: the process environment.
    :returns: ``{"agent name": {"provider": "...", ...options}}`` (the shape of ``[agents]``),
        or ``None`` to leave it to other plugins. The first non-``None`` answer wins (use
        ``tryfirst``/``trylast`` to order); with none, the built-in demo agent is served.
    """


@hookspec
def startup(runtime: Any) -> Any:
    """The runtime is starting: the store is open, the providers have started.

    :param runtime: the :class:`copilotkit_runtime.runtime.Runtime` being started.
    :returns: ``None`` or an awaitable, which is awaited. Every implementation is called; an
        exception aborts startup.
    """


@hookspec
def shutdown(runtime: Any) -> Any:
    """The runtime is stopping: called before providers stop and the store closes.

    :param runtime: the :class:`copilotkit_runtime.runtime.Runtime` being stopped.
    :returns: ``None`` or an awaitable, which is awaited. Every implementation is called;
        exceptions are logged and do not stop the others.
    """
