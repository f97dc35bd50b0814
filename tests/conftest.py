"""Shared test setup for the cross-package tests in ``tests/``."""

from __future__ import annotations

import sys
from pathlib import Path

# Helpers that live next to the tests (``node_client``) are importable by every test here.
sys.path.insert(0, str(Path(__file__).parent))
