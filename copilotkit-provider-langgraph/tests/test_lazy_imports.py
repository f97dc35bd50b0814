"""Discovering the plugin and starting a runtime without a langgraph agent import no LangGraph."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = ("langgraph", "langchain_core")


def _run(code: str) -> dict[str, object]:
    """``code`` in a fresh interpreter; it prints one JSON line, the last one is returned."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=120, cwd=Path(__file__).parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_importing_the_plugin_imports_no_langgraph() -> None:
    seen = _run(f"""
        import json, sys
        import copilotkit_provider_langgraph, copilotkit_provider_langgraph.plugin
        from copilotkit_provider_langgraph import LangGraphOptions
        print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))
    """)
    assert seen == {m: False for m in HEAVY}


def test_a_runtime_without_langgraph_agents_imports_no_langgraph(tmp_path: Path) -> None:
    seen = _run(f"""
        import json, pathlib, sys
        import copilotkit_provider_langgraph.plugin as plugin
        from copilotkit_runtime.testing import make_runtime
        runtime = make_runtime({{"agents": {{"demo": {{"provider": "demo"}}}}}},
                               plugins={{"langgraph": plugin}}, tmp_path=pathlib.Path({str(tmp_path)!r}))
        assert "langgraph" in runtime.registries.providers
        print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))
    """)
    assert seen == {m: False for m in HEAVY}


def test_a_langgraph_agent_builds_the_real_provider(tmp_path: Path) -> None:
    seen = _run(f"""
        import json, pathlib, sys
        import copilotkit_provider_langgraph.plugin as plugin
        from copilotkit_runtime.testing import make_runtime
        runtime = make_runtime({{"agents": {{"chat": {{
                                   "provider": "langgraph",
                                   "graph": "lg_test_graphs:make_chat_graph"}}}}}},
                               plugins={{"langgraph": plugin}}, tmp_path=pathlib.Path({str(tmp_path)!r}))
        provider = runtime.providers["chat"]
        info = runtime.engine.agent_infos()[0]
        print(json.dumps({{"class": type(provider).__name__, "provider": info.provider,
                          "langgraph": "langgraph" in sys.modules}}))
    """)
    assert seen == {"class": "LangGraphProvider", "provider": "langgraph", "langgraph": True}
