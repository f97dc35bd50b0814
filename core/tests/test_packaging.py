"""The core distribution stays free of agent frameworks and Redis."""

from __future__ import annotations

import ast
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

FORBIDDEN = {"langgraph", "langchain", "langchain-core", "crewai", "redis"}


def test_the_core_distribution_does_not_depend_on_frameworks_or_redis() -> None:
    requires = [Requirement(r).name.lower() for r in metadata.requires("copilotkit-runtime") or []]
    assert requires, "metadata is missing"
    assert not FORBIDDEN & set(requires)


def test_the_core_source_never_imports_a_plugin_or_framework() -> None:
    src = Path(__file__).parents[1] / "src" / "copilotkit_runtime"
    for path in src.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in {"langgraph", "langchain", "langchain_core", "crewai", "redis"} \
                    and not top.startswith("copilotkit_provider_") \
                    and not top.startswith("copilotkit_store_"), f"{path.name} imports {name}"


def test_the_core_pins_no_exact_versions_and_ci_runs_inside_its_ranges() -> None:
    """Ranges, not ``==`` pins (plugins and apps must be able to resolve alongside the core);
    the versions this environment (the lock CI syncs) installs lie inside every range."""
    for line in metadata.requires("copilotkit-runtime") or []:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        assert not any(s.operator in ("==", "===") for s in requirement.specifier), line
        installed = metadata.version(requirement.name)
        assert requirement.specifier.contains(installed, prereleases=True), (line, installed)
