"""Fixtures: a real LangGraph Agent Server (``langgraph dev``, in-memory runtime) on a free
port, serving ``platform_graph`` from its own environment (``scripts/test.sh`` creates it)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[2] / "tests"))  # node_client, the v1 npm client driver

from platform_helpers import DevServer, start_dev_server  # noqa: E402


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    server = start_dev_server(tmp_path_factory.mktemp("langgraph-dev"))
    try:
        yield server
    finally:
        server.stop()
