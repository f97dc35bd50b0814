"""copilotkit-runtime plugin: redis."""
