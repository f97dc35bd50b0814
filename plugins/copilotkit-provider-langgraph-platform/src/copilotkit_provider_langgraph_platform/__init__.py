"""copilotkit-runtime plugin: graphs deployed on LangGraph Platform / Agent Server (provider
type ``langgraph-platform``), run through the ``langgraph-sdk`` client."""

from __future__ import annotations

from .options import PlatformOptions
from .provider import PlatformError, PlatformProvider, platform_thread_id

__all__ = ["PlatformError", "PlatformOptions", "PlatformProvider", "platform_thread_id"]
__version__ = "0.1.0"
