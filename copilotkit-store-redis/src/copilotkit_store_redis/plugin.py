"""Entry point module (work in progress)."""
