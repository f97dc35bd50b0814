"""Test helpers for plugin authors (and for this project's own tests).

* :class:`StoreContract`: the behaviour every state store must have. Subclass it and supply a
  ``store`` fixture yielding an opened store::

      class TestMyStore(StoreContract):
          @pytest.fixture
          async def store(self):
              store = MyStore(MyStore.Options(url=...))
              await store.open()
              yield store
              await store.close()

* :class:`ProviderContract`: the behaviour every agent provider must have. Supply a
  ``provider`` fixture yielding a started provider instance (and override ``prompt`` if your
  agent needs a particular message).
* :class:`ScriptedProvider` (type ``scripted``, registered by :data:`scripted_plugin`): an
  agent whose behaviour the test picks with ``mode``, and which records what it saw.
* :class:`RuntimeClient`: the runtime's ASGI app driven in-process over HTTP, both protocols
  (``run``, ``info``, ``graphql``...).
* :func:`provider_context`, :func:`make_provider`: a provider instance without a runtime.
* :func:`make_runtime`, :func:`serve_runtime`: a runtime with chosen plugins, served by uvicorn
  on a free local port for tests that speak real HTTP.

The contract suites bring their own ``anyio_backend`` fixture (asyncio). For your other
async tests, opt in to :mod:`copilotkit_runtime.testing.pytest_plugin` in your root
``conftest.py``: ``pytest_plugins = ["copilotkit_runtime.testing.pytest_plugin"]``.
"""

from __future__ import annotations

from .client import RuntimeClient, parse_sse
from .contracts import (
    GuardrailContract,
    MiddlewareContract,
    ProviderContract,
    StoreContract,
    collect_events,
)
from .runtime import make_provider, make_runtime, make_settings, provider_context, run_request
from .scripted import ScriptedChatModel, ScriptedOptions, ScriptedProvider, scripted_plugin
from .server import ServedRuntime, serve_runtime

__all__ = [
    "GuardrailContract",
    "MiddlewareContract",
    "ProviderContract",
    "RuntimeClient",
    "ScriptedChatModel",
    "ScriptedOptions",
    "ScriptedProvider",
    "ServedRuntime",
    "StoreContract",
    "collect_events",
    "make_provider",
    "make_runtime",
    "make_settings",
    "parse_sse",
    "provider_context",
    "run_request",
    "scripted_plugin",
    "serve_runtime",
]
