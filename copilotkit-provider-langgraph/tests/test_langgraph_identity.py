"""A LangGraph run carries who asks: ``principal``, ``properties`` and the forwarded headers in
``config["configurable"]``, so an agent can call an API with the user's token. Real HTTP, both
protocols (v1 with the real GraphQL client), a SQLite checkpointer (the principal is any object
and must not end up in a checkpoint)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dojo_parity import Conversation

import copilotkit_provider_langgraph.plugin as langgraph_plugin
from copilotkit_runtime import RequestMiddleware, hookimpl
from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from node_client import generate_step, node_missing_reason, run_client


@dataclass(frozen=True)
class User:
    name: str


class BearerAuth(RequestMiddleware):
    async def authenticate(self, context: Any) -> Any:
        token = context.headers.get("authorization", "")
        return User("ada") if token == "Bearer t0ken" else None


class AuthPlugin:
    @hookimpl
    def register_middleware(self, registry: Any) -> None:
        registry.add("bearer", BearerAuth())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRuntime]:
    runtime = make_runtime({"agents": {"whoami": {
        "provider": "langgraph", "graph": "dojo_graphs:make_identity_graph",
        "checkpointer": "sqlite", "forward_headers": ["authorization", "x-tenant-*"]}}},
        plugins={"langgraph": langgraph_plugin, "auth": AuthPlugin()},
        load_entry_points=False, tmp_path=tmp_path_factory.mktemp("identity"))
    with serve_runtime(runtime) as server:
        yield server


def test_agui_run_sees_the_token_the_principal_and_the_properties(served) -> None:
    chat = Conversation(f"{served.url}/agent/whoami/run",
                        headers={"Authorization": "Bearer t0ken", "X-Secret": "not forwarded"})
    digest = chat.run(forwarded_props={"tenant": "acme"})
    assert digest.error is None
    assert digest.messages[-1][1] == "token=Bearer t0ken user=ada tenant=acme"
    # The identity is per run, not stored: ada's second turn keeps hers, and an anonymous
    # run (on a thread of its own: ada's thread is hers alone) sees none.
    again = Conversation(chat.url, thread_id=chat.thread_id, messages=chat.messages,
                         headers={"Authorization": "Bearer t0ken"})
    assert again.run().messages[-1][1] == "token=Bearer t0ken user=ada tenant=none"
    anonymous = Conversation(chat.url)
    assert anonymous.run().messages[-1][1] == "token=none user=None tenant=none"


def test_only_the_configured_headers_are_forwarded(served) -> None:
    provider = served.runtime.providers["whoami"]
    assert provider._forwarded_headers({"Authorization": "a", "X-Tenant-Id": "t", "Cookie": "c",
                                        "x-secret": "s"}) == {"authorization": "a",
                                                              "x-tenant-id": "t"}


@pytest.mark.node
@pytest.mark.skipif(node_missing_reason() is not None, reason=node_missing_reason() or "")
def test_graphql_run_sees_the_token_the_principal_and_the_properties(served) -> None:
    result = run_client(served.url, [generate_step("who am I", agent="whoami",
                                                   properties={"tenant": "acme"})],
                        headers={"Authorization": "Bearer t0ken"})["result"]
    [*_, last] = [m for m in result["messages"] if m["__typename"] == "AgentStateMessageOutput"]
    assert last["state"]["messages"][-1]["content"] == "token=Bearer t0ken user=ada tenant=acme"
