"""The core's import structure: no circles, and no agent framework or LLM SDK inside."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "copilotkit_runtime"
FORBIDDEN = {"langgraph", "langchain_core", "crewai", "openai", "anthropic", "copilotkit"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module of the package that ``path`` imports (``TYPE_CHECKING`` ones too)."""
    tree = ast.parse(path.read_text())
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges[name] = {m for m in imports_of(path) if m in modules and m != name
                       and path.name != "__init__.py"}
    return edges


def test_the_core_has_no_import_circle() -> None:
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if nxt.endswith("__init__") or nxt == "copilotkit_runtime":
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_core_imports_no_agent_framework_or_llm_sdk() -> None:
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        top = {name.split(".")[0] for name in imports_of(path)}
        bad = top & FORBIDDEN
        if bad:
            offenders[str(path.relative_to(PACKAGE))] = sorted(bad)
    assert offenders == {}


#: what only the engine does with a store: run locks, stops, history and the live relay
RUN_METHODS = {"acquire_run_lock", "request_stop", "append_events", "get_events", "follow_live",
               "publish_live", "save_thread", "delete_thread", "renew", "wait_for_stop"}


def test_the_protocol_layers_leave_runs_to_the_engine() -> None:
    """GraphQL and AG-UI code never takes a lease, reads history or relays: the engine does
    (``engine.connect``, ``engine.stop``, ``engine.delete_thread``, ``engine.thread_events``)."""
    offenders = []
    for folder in ("graphql", "agui"):
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                receiver = getattr(node, "value", None)
                via_engine = getattr(receiver, "attr", getattr(receiver, "id", "")) == "engine"
                if isinstance(node, ast.Attribute) and node.attr in RUN_METHODS and not via_engine:
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} .{node.attr}")
    assert offenders == []
