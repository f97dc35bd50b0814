"""copilotkit-remote: agents and actions of a service built with the CopilotKit Python SDK's
remote endpoint (``CopilotKitRemoteEndpoint`` + ``add_fastapi_endpoint``)."""

from __future__ import annotations

from .provider import RemoteEndpointError, RemoteEndpointOptions, RemoteEndpointProvider
from .translate import RemoteEventTranslator

__version__ = "0.1.0"

__all__ = ["RemoteEndpointError", "RemoteEndpointOptions", "RemoteEndpointProvider",
           "RemoteEventTranslator", "__version__"]
