"""Start the example runtime: ``uv run python examples/agents/serve.py [--port 8000]``.

``--crewai`` serves ``crewai.toml`` (the CrewAI flow ``writer``) instead of ``copilotkit.toml``;
run it in the CrewAI environment:
``uv run --project copilotkit-provider-crewai python examples/agents/serve.py --crewai``.

Without ``OPENAI_API_KEY`` it first starts the fake OpenAI-compatible server
(``copilotkit_runtime.testing.fake_llm``) on a free port and points the LLM agent at it, so the
examples run offline; with a key they talk to OpenAI (or ``OPENAI_BASE_URL``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from copilotkit_runtime.cli import main

HERE = Path(__file__).resolve().parent


def run(argv: list[str]) -> int:
    config = HERE / "copilotkit.toml"
    if "--crewai" in argv:
        argv = [a for a in argv if a != "--crewai"]
        config = HERE / "crewai.toml"
    fake = None
    if not os.environ.get("OPENAI_API_KEY"):
        from copilotkit_runtime.testing.fake_llm import FakeLLMServer

        fake = FakeLLMServer().start()
        os.environ["EXAMPLE_LLM_BASE_URL"] = fake.openai_url
        print(f"no OPENAI_API_KEY: the LLM agents talk to a fake model at {fake.openai_url}",
              file=sys.stderr)
    elif os.environ.get("OPENAI_BASE_URL"):
        os.environ.setdefault("EXAMPLE_LLM_BASE_URL", os.environ["OPENAI_BASE_URL"])
    try:
        return int(main(["--config", str(config), "serve", *argv]) or 0)
    finally:
        if fake is not None:
            fake.stop()


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
