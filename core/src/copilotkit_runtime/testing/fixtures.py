"""Kept for environments installed before 0.1.1, whose ``pytest11`` entry point still names
this module; use :mod:`copilotkit_runtime.testing.pytest_plugin` (opt-in) instead."""

from __future__ import annotations

from .pytest_plugin import anyio_backend

__all__ = ["anyio_backend"]
