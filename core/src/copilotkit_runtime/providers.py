"""Agent providers: the async classes that run agents.

A plugin registers a provider *type* (a subclass of :class:`AgentProvider`) under a name with
the ``register_agent_providers`` hook. The ``[agents.NAME]`` sections of the config create
*instances*: one instance per section, built with the section's options validated against the
type's :attr:`AgentProvider.Options` model. An instance serves one agent (usually named after
its section) or several (a provider may expand one section, e.g. every graph of a
``langgraph.json``).

Example::

    class EchoProvider(AgentProvider):
        class Options(ProviderOptions):
            prefix: str = "You said: "

        async def run(self, request):
            text = self.options.prefix + request.last_user_text()
            for event in text_message(text.split(" ")):
                yield event
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from ag_ui.core import BaseEvent
from pydantic import BaseModel, ConfigDict

from .contracts import AgentInfo, RunRequest, ThreadSnapshot

__all__ = ["AgentInfo", "AgentProvider", "ProviderContext", "ProviderOptions", "RunRequest",
           "ThreadSnapshot"]

if TYPE_CHECKING:
    from .actions import Action
    from .stores import StateStore


class ProviderOptions(BaseModel):
    """Base model of a provider type's options (the keys of its ``[agents.NAME]`` section).

    Unknown keys are rejected so a typo in the config is an error pointing at the key.
    ``provider`` and ``description`` are handled by the runtime and never reach this model.
    """

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ProviderContext:
    """What a provider instance may use from the runtime that created it."""

    config_dir: Path
    store: StateStore
    actions: Mapping[str, Action]
    data_dir: Path


OptionsT = TypeVar("OptionsT", bound=ProviderOptions)


class AgentProvider(ABC, Generic[OptionsT]):
    """Base class of provider types, generic over its options model: ``class MyProvider(
    AgentProvider[MyOptions])`` (with ``Options = MyOptions``) gives ``self.options`` its type.

    Subclasses implement :meth:`run`, may override :meth:`agents`, :meth:`load_thread`,
    :meth:`startup` and :meth:`shutdown`, and declare their config keys in :attr:`Options`.
    """

    #: pydantic model of this type's options; extra keys are rejected.
    Options: ClassVar[type[ProviderOptions]] = ProviderOptions
    #: the type name, set by the registry when the type is registered.
    type_name: ClassVar[str] = ""

    def __init__(
        self, name: str, options: OptionsT, context: ProviderContext, description: str = ""
    ) -> None:
        self.name = name
        self.options: OptionsT = options
        self.context = context
        self.description = description

    def agents(self) -> Sequence[AgentInfo]:
        """The agents this instance serves. Default: one agent named after its config section."""
        return [AgentInfo(name=self.name, description=self.description, provider=self.type_name)]

    @abstractmethod
    def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        """Run ``request.agent`` and yield its AG-UI events as they happen.

        Write it as an ``async def`` generator. The runtime adds ``RUN_STARTED`` and
        ``RUN_FINISHED`` when the provider leaves them out, expands ``*_CHUNK`` events, and
        turns an exception into a ``RUN_ERROR`` for this run only. Cancellation arrives as
        ``asyncio.CancelledError`` / ``GeneratorExit`` at an ``await`` or ``yield``: release
        what you hold in ``finally``.
        """

    def offer_actions(self, actions: Mapping[str, Action], *,
                      unavailable: Sequence[str] = ()) -> None:
        """Backend actions that became known after this instance was built: a
        ``copilotkit-remote`` endpoint's actions (when the runtime is built), MCP tools (at
        startup). Take the ones this agent may call. ``unavailable`` says why some could not
        be listed (an MCP server that did not start). Default: ignore them."""

    def missing_actions(self) -> list[str]:
        """Backend actions this agent's configuration names that no action has (yet).
        The runtime refuses to start while a name is missing and nothing failed to list its
        actions; otherwise the agent's runs say what is missing. Default: none."""
        return []

    async def load_thread(self, agent: str, thread_id: str) -> ThreadSnapshot | None:
        """The thread as the provider keeps it (e.g. a LangGraph checkpoint).

        Return ``None`` (the default) to let the runtime answer from its state store.
        """
        return None

    async def startup(self) -> None:
        """Called once when the runtime starts, before the first request."""

    async def shutdown(self) -> None:
        """Called once when the runtime stops."""
