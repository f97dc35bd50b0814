"""copilotkit-runtime plugin: crewai."""
