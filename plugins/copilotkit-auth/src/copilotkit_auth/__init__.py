"""copilotkit-auth: API keys and JWT bearer tokens for copilotkit-runtime.

Installed, it does nothing until configured: ``[auth.api_key]`` and/or ``[auth.jwt]``.
"""

from .api_key import ApiKeyAuth, ApiKeyOptions
from .jwt_auth import JwtAuth, JwtOptions

__all__ = ["ApiKeyAuth", "ApiKeyOptions", "JwtAuth", "JwtOptions"]
__version__ = "0.1.0"
