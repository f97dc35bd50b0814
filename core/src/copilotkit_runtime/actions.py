"""Backend actions: functions the runtime offers to agents and LLM providers as tools.

Three ways to make one:

* in config, no code beyond the function::

      [actions.lookup_order]
      handler = "my_app.tools:lookup_order"   # the config file's folder is on the import path
      description = "Look up an order by its number"
      timeout = 10                            # seconds (default 30)
      # parameters = { type = "object", properties = { ... } }   # else from the type hints

* from a function, with its parameters taken from its type hints (pydantic)::

      Action.from_function(lookup_order, description="...")

* explicitly, registered by a plugin with the ``register_actions`` hook::

      @hookimpl
      def register_actions(registry):
          registry.add("lookup_order", Action(name="lookup_order", description="...",
                                              parameters={...}, handler=lookup_order))

Handlers may be sync (run in a worker thread, so they never block the server) or async.
The LLM agents call them through :meth:`Action.invoke`: arguments are validated first, and
the result is turned into the text the model reads.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import Status, StatusCode
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from .telemetry import tracer

DEFAULT_ACTION_TIMEOUT = 30.0

__all__ = ["DEFAULT_ACTION_TIMEOUT", "Action", "ActionArgumentsError", "missing_actions_text",
           "result_text"]


class ActionArgumentsError(ValueError):
    """The arguments do not match the action's parameters (shown to the model)."""


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    handler: Callable[..., Any | Awaitable[Any]]
    parameters: dict[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    #: seconds one call may take (``None``: the runtime's default)
    timeout: float | None = None
    #: validates and coerces arguments; built from the type hints by :meth:`from_function`
    arguments_model: type[BaseModel] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_function(cls, handler: Callable[..., Any], *, name: str | None = None,
                      description: str | None = None, parameters: dict[str, Any] | None = None,
                      timeout: float | None = None) -> Action:
        """An action whose parameters come from ``handler``'s signature and type hints
        (unless ``parameters`` gives the JSON schema), and whose description defaults to the
        docstring's first paragraph."""
        model = _arguments_model(handler)
        schema = parameters if parameters is not None else _schema(model)
        doc = inspect.getdoc(handler) or ""
        return cls(name=name or handler.__name__,
                   description=description if description is not None else doc.split("\n\n")[0],
                   handler=handler, parameters=schema, timeout=timeout,
                   arguments_model=model if parameters is None else None)

    async def call(self, **arguments: Any) -> Any:
        """Call the handler with ``arguments`` as they are (no validation, no timeout)."""
        handler = self.handler
        if _is_async(handler):
            result = handler(**arguments)
        else:
            result = await asyncio.to_thread(functools.partial(handler, **arguments))
        if inspect.isawaitable(result):
            result = await result
        return result

    async def invoke(self, arguments: Any, *, default_timeout: float = DEFAULT_ACTION_TIMEOUT) -> Any:
        """Validate ``arguments`` (a JSON object), call, and bound the time it may take.

        Raises :class:`ActionArgumentsError` for arguments that do not fit, ``TimeoutError``
        when the call outlives its timeout, and whatever the handler raises.
        """
        if not isinstance(arguments, dict):
            raise ActionArgumentsError(f"the arguments must be a JSON object, not {type(arguments).__name__}")
        if self.arguments_model is not None:
            try:
                validated = self.arguments_model.model_validate(arguments)
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
                                     for e in exc.errors())
                raise ActionArgumentsError(problems) from None
            arguments = {name: getattr(validated, name) for name in type(validated).model_fields}
        timeout = self.timeout if self.timeout is not None else default_timeout
        with tracer.start_as_current_span("copilotkit.action", attributes={
                "copilotkit.action": self.name}, record_exception=False,
                set_status_on_exception=False) as span:
            try:
                async with asyncio.timeout(timeout):
                    return await self.call(**arguments)
            except BaseException as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise

    def as_tool(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


def result_text(result: Any) -> str:
    """What the model reads as an action's result: strings as they are, the rest as compact
    JSON (``JSON.stringify``'s form, as the TypeScript runtime sends it)."""
    if isinstance(result, str):
        return result
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    try:
        return json.dumps(result, default=str, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(result)


def missing_actions_text(section: str, missing: list[str], registered: Any,
                         unavailable: list[str] | tuple[str, ...] = ()) -> str:
    """The error for action names an agent's ``actions`` list has that no action has."""
    text = (f"{section}.actions: unknown backend action(s) {', '.join(missing)} "
            f"(registered: {', '.join(sorted(registered)) or 'none'})")
    if unavailable:
        text += "; not all could be discovered at startup: " + "; ".join(unavailable)
    return text + "."


def _is_async(handler: Callable[..., Any]) -> bool:
    # A callable object's coroutine ``__call__`` counts too.
    target = handler if inspect.isroutine(handler) else type(handler).__call__
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(target)


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


def _arguments_model(handler: Callable[..., Any]) -> type[BaseModel] | None:
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return None
    fields: dict[str, Any] = {}
    try:
        hints = inspect.get_annotations(handler, eval_str=True) if inspect.isroutine(handler) else {}
    except Exception:
        hints = {}
    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            return None  # **kwargs: accept what the schema says, unvalidated
        annotation = hints.get(name, param.annotation)
        if annotation is inspect.Parameter.empty:
            annotation = Any
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, default)
    return create_model(f"{getattr(handler, '__name__', 'action')}_arguments",
                        __base__=_Arguments, **fields)


def _schema(model: type[BaseModel] | None) -> dict[str, Any]:
    if model is None:
        return {"type": "object", "properties": {}}
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in (schema.get("properties") or {}).values():
        if isinstance(prop, dict):
            prop.pop("title", None)
    return schema
