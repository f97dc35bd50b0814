"""copilotkit-plugin-template: the `template-echo` agent provider for copilotkit-runtime."""

__version__ = "0.1.0"
