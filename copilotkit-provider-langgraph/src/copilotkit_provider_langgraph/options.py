"""The config keys of a ``provider = "langgraph"`` agent section."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from copilotkit_runtime.providers import ProviderOptions


class CheckpointerOptions(BaseModel):
    """Where the threads (LangGraph checkpoints) live.

    ``checkpointer = "sqlite"`` is short for ``checkpointer = { type = "sqlite" }``.
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["auto", "memory", "sqlite", "postgres"] = Field(
        "auto",
        description="auto: the graph's own checkpointer if it was compiled with one, else memory",
    )
    path: str | None = Field(
        None,
        description="sqlite: the database file, relative to the config file; '{agent}' is "
        "replaced by the agent name (default: <data_dir>/langgraph/{agent}.sqlite)",
    )
    url: str | None = Field(None, description="postgres: the connection string (use ${ENV_VAR})")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _needs(self) -> CheckpointerOptions:
        if self.type == "postgres" and not self.url:
            raise ValueError("checkpointer type 'postgres' needs url = \"postgresql://...\"")
        if self.path and self.type != "sqlite":
            raise ValueError("checkpointer.path only applies to type 'sqlite'")
        return self


class LangGraphOptions(ProviderOptions):
    """Options of one ``[agents.NAME]`` section with ``provider = "langgraph"``.

    Exactly one of ``graph`` and ``langgraph_json``.
    """

    graph: str | None = Field(
        None,
        description="import path of a compiled graph, a StateGraph or a factory: "
        "'package.module:attribute' or 'path/to/file.py:attribute'",
    )
    langgraph_json: str | None = Field(
        None, description="a langgraph.json file: serve each of its graphs as an agent named after it"
    )
    graphs: list[str] | None = Field(
        None, description="with langgraph_json: serve only these graph ids"
    )
    descriptions: dict[str, str] = Field(
        default_factory=dict, description="with langgraph_json: a description per graph id"
    )
    checkpointer: CheckpointerOptions = Field(default_factory=CheckpointerOptions)
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="RunnableConfig defaults for every run, e.g. {recursion_limit = 50, "
        "configurable = {model = \"...\"}}",
    )

    forward_headers: list[str] = Field(
        default_factory=lambda: ["authorization"],
        description="request headers a graph sees in config['configurable']['headers'] "
        "(names, case-insensitive; '*' patterns like 'x-user-*'); [] forwards none",
    )

    @model_validator(mode="after")
    def _one_source(self) -> LangGraphOptions:
        if bool(self.graph) == bool(self.langgraph_json):
            raise ValueError("set exactly one of 'graph' (an import path) and 'langgraph_json'")
        if self.graphs is not None and not self.langgraph_json:
            raise ValueError("'graphs' only applies together with 'langgraph_json'")
        return self
