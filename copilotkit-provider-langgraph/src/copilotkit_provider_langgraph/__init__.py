"""copilotkit-runtime plugin: langgraph."""
