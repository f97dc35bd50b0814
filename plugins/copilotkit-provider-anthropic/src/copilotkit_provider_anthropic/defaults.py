"""Defaults shared by the plugin's options and its chat model (a module of its own so that
``plugin`` loads without the ``anthropic`` SDK, which only ``model`` imports)."""

#: Anthropic's Messages API requires ``max_tokens``: what a request without one asks for
DEFAULT_MAX_TOKENS = 4096
