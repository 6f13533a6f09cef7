"""A loopback BigCommerce store: a real HTTP API that answers as the official specs say and fails as production does."""

from .config import BigCommerceSandboxConfig
from .sandbox import BigCommerceSandbox

__all__ = ["BigCommerceSandbox", "BigCommerceSandboxConfig"]
