"""Declaring graphs by config: import paths, factories, langgraph.json, clear startup errors."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from lg_helpers import Client, build_runtime

from copilotkit_runtime.errors import ConfigError
from copilotkit_runtime.testing import make_runtime

pytestmark = pytest.mark.anyio


def section(graph: str, **options: object) -> dict[str, object]:
    return {"provider": "langgraph", "graph": graph, **options}


@pytest.mark.parametrize(("path", "says"), [
    ("no_such_module.graphs:research", "no module named 'no_such_module'"),
    ("lg_test_graphs:no_such_graph", "has no attribute 'no_such_graph'"),
    ("lg_test_graphs:NOT_A_GRAPH", "is a int, not a LangGraph graph"),
    ("./missing/file.py:graph", "does not exist"),
    ("lg_test_graphs", "is not an import path"),
])
def test_a_bad_import_path_is_a_startup_error_naming_agent_and_path(tmp_path: Path, path: str,
                                                                    says: str) -> None:
    with pytest.raises(ConfigError) as error:
        build_runtime({"research": section(path)}, tmp_path)
    message = str(error.value)
    assert "agents.research" in message
    assert path in message
    assert says in message


def test_a_graph_module_that_fails_to_import_says_why(tmp_path: Path) -> None:
    (tmp_path / "broken_graph.py").write_text("raise RuntimeError('missing OPENAI_API_KEY')\n")
    with pytest.raises(ConfigError, match=r"agents\.research.*broken_graph.py:graph.*missing OPENAI_API_KEY"):
        build_runtime({"research": section("broken_graph.py:graph")}, tmp_path)


def test_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exactly one of 'graph'"):
        build_runtime({"x": {"provider": "langgraph"}}, tmp_path)
    with pytest.raises(ConfigError, match="exactly one of 'graph'"):
        build_runtime({"x": section("lg_test_graphs:make_chat_graph", langgraph_json="l.json")}, tmp_path)
    with pytest.raises(ConfigError, match="unknown key"):
        build_runtime({"x": section("lg_test_graphs:make_chat_graph", grpah="typo")}, tmp_path)
    with pytest.raises(ConfigError, match="needs url"):
        build_runtime({"x": section("lg_test_graphs:make_chat_graph", checkpointer="postgres")}, tmp_path)


@pytest.mark.parametrize("factory", ["make_chat_graph", "make_chat_builder", "make_chat_graph_async"])
async def test_graph_factories_and_uncompiled_graphs_are_served(runtimes, factory: str) -> None:
    runtime = await runtimes({"chat": section(f"lg_test_graphs:{factory}")})
    turn = await Client(runtime, "chat").send("hi")
    assert turn.text.startswith("Hello from the graph")


async def test_description_per_agent(runtimes) -> None:
    runtime = await runtimes({
        "a": section("lg_test_graphs:make_chat_graph", description="Answers questions"),
        "b": section("lg_test_graphs:make_counter_graph"),
    })
    infos = {info.name: info for info in runtime.engine.agent_infos()}
    assert infos["a"].description == "Answers questions"
    assert infos["a"].provider == "langgraph"
    assert infos["a"].capabilities["interrupts"] is True


def _langgraph_project(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "helpers.py").write_text("GREETING = 'Hi from alpha'\n")
    (root / "src" / "alpha.py").write_text(textwrap.dedent("""
        import os
        from helpers import GREETING          # a sibling module, as under `langgraph dev`
        from langchain_core.messages import AIMessage
        from langgraph.graph import END, START, MessagesState, StateGraph

        def answer(state):
            return {"messages": [AIMessage(content=GREETING + " " + os.environ["LG_PROJECT_VAR"])]}

        builder = StateGraph(MessagesState)
        builder.add_node("answer", answer)
        builder.add_edge(START, "answer")
        builder.add_edge("answer", END)
        graph = builder.compile()
    """))
    (root / "src" / "beta.py").write_text(textwrap.dedent("""
        from langchain_core.messages import AIMessage
        from langgraph.graph import END, START, MessagesState, StateGraph

        def make_graph(config):
            builder = StateGraph(MessagesState)
            builder.add_node("answer", lambda state: {"messages": [AIMessage(content="Hi from beta")]})
            builder.add_edge(START, "answer")
            builder.add_edge("answer", END)
            return builder.compile()
    """))
    file = root / "langgraph.json"
    file.write_text(json.dumps({
        "dependencies": ["./src"],
        "graphs": {"alpha": "./src/alpha.py:graph",
                   "beta": {"path": "./src/beta.py:make_graph", "description": "The beta graph"}},
        "env": {"LG_PROJECT_VAR": "(from langgraph.json env)"},
    }))
    return file


async def test_langgraph_json_serves_every_graph_as_an_agent(runtimes, tmp_path: Path) -> None:
    project = _langgraph_project(tmp_path / "project")
    os.environ.pop("LG_PROJECT_VAR", None)
    runtime = await runtimes({"project": {"provider": "langgraph", "langgraph_json": str(project),
                                          "description": "A LangGraph project"}})

    infos = {info.name: info.description for info in runtime.engine.agent_infos()}
    assert infos == {"alpha": "A LangGraph project", "beta": "The beta graph"}
    alpha = await Client(runtime, "alpha").send("hello")
    beta = await Client(runtime, "beta").send("hello")
    assert alpha.messages[-1]["content"] == "Hi from alpha (from langgraph.json env)"
    assert beta.messages[-1]["content"] == "Hi from beta"


async def test_langgraph_json_subset_and_relative_path(runtimes, tmp_path: Path) -> None:
    _langgraph_project(tmp_path / "project")
    runtime = await runtimes({"project": {"provider": "langgraph",
                                          "langgraph_json": "project/langgraph.json",
                                          "graphs": ["beta"], "descriptions": {"beta": "Only beta"}}})
    assert [(i.name, i.description) for i in runtime.engine.agent_infos()] == [("beta", "Only beta")]


def test_langgraph_json_with_a_bad_graph_names_it(tmp_path: Path) -> None:
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {"gamma": "./nope.py:graph"}}))
    with pytest.raises(ConfigError) as error:
        build_runtime({"project": {"provider": "langgraph", "langgraph_json": "langgraph.json"}}, tmp_path)
    assert "agents.project" in str(error.value) and "gamma" in str(error.value)
    assert "./nope.py:graph" in str(error.value)
    with pytest.raises(ConfigError, match="does not exist"):
        build_runtime({"project": {"provider": "langgraph", "langgraph_json": "other.json"}}, tmp_path)


async def test_a_failing_factory_fails_startup_with_the_agent_named(tmp_path: Path) -> None:
    (tmp_path / "bad_factory.py").write_text("def make():\n    raise ValueError('no model configured')\n")
    runtime = build_runtime({"research": section("bad_factory.py:make")}, tmp_path)
    with pytest.raises(ConfigError, match=r"agents\.research.*bad_factory.py:make.*no model configured"):
        await runtime.startup()


async def test_the_plugin_is_found_through_its_entry_point(tmp_path: Path) -> None:
    runtime = make_runtime({"agents": {"chat": section("lg_test_graphs:make_chat_graph")}},
                           tmp_path=tmp_path, load_entry_points=True)
    await runtime.startup()
    try:
        turn = await Client(runtime, "chat").send("hi")
        assert turn.text.startswith("Hello from the graph")
    finally:
        await runtime.shutdown()
