"""``[agents.NAME]`` with ``provider = "langgraph-platform"``: one deployed graph."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from copilotkit_runtime import ProviderOptions


class PlatformOptions(ProviderOptions):
    deployment_url: str = Field(
        description="base URL of the deployment (LangSmith Deployment, a self-hosted Agent "
        "Server, `langgraph dev`), e.g. https://my-app.us.langgraph.app"
    )
    graph_id: str | None = Field(
        None,
        description="the graph to run (its name in langgraph.json); default: the "
        "section's name. Runs use the graph's default assistant",
    )
    assistant_id: str | None = Field(
        None,
        description="an assistant (a configured version of a graph) to run instead of "
        "the graph's default one",
    )
    api_key: SecretStr | None = Field(
        None,
        description="the deployment's API key (sent as x-api-key, never logged); "
        "default: LANGGRAPH_API_KEY, LANGSMITH_API_KEY or LANGCHAIN_API_KEY "
        "from the environment, as the langgraph-sdk client reads them",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description='HTTP headers sent with every call to the deployment ("${VAR}" from the '
        "environment); they win over forwarded ones",
    )
    forward_headers: list[str] = Field(
        default_factory=list,
        description="glob patterns of the request headers (those the server's forwarding "
        "policy lets through) sent on to the deployment, e.g. for its custom auth; "
        'they also reach the graph as config["configurable"]["headers"]',
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="the runs' base RunnableConfig (configurable, tags, recursion_limit, ...); "
        "the client's config is merged over it",
    )
    multitask_strategy: Literal["reject", "interrupt", "rollback", "enqueue"] = Field(
        "reject",
        description="what the deployment does with a run on a thread that is still running one",
    )
    timeout: float = Field(
        300.0,
        gt=0,
        description="seconds to wait for the deployment's next bytes while a run streams",
    )
    connect_timeout: float = Field(10.0, gt=0, description="seconds to connect to the deployment")
    cancel_timeout: float = Field(
        5.0, gt=0, description="seconds a stop waits for the deployment to confirm the cancel"
    )

    @field_validator("deployment_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value.rstrip("/")
