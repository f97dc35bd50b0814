"""Fixtures: a real remote AG-UI server process (``agui_remote_helpers``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[2] / "tests"))  # node_client, the v1 npm client driver

from agui_remote_helpers import RemoteServer, start_remote, stop_remote  # noqa: E402


@pytest.fixture(scope="session")
def remote() -> Iterator[RemoteServer]:
    server = start_remote()
    try:
        yield server
    finally:
        stop_remote(server)
