"""Process settings CrewAI reads from the environment, applied before CrewAI is imported.

CrewAI decides some things once, at import time (where its storage lives, whether telemetry is
set up), and reads the rest from environment variables on each use. So the provider sets these
variables before its first ``import crewai``, which is why nothing in this package imports
CrewAI at module level except the modules a provider loads on demand.

They are process-wide: the first configured agent decides them; a later agent asking for a
different storage directory gets a warning, not a second directory.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("copilotkit_provider_crewai")

#: Variables that turn off CrewAI's telemetry, tracing, and first-run trace prompts.
TELEMETRY_OFF = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
    # CrewAI's console formatter otherwise asks PyPI whether a newer CrewAI exists.
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    # litellm, when a flow uses it, must not fetch its model price list over the network.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
}

_applied_storage: str | None = None


def configure_crewai_environment(storage_dir: Path, *, disable_telemetry: bool = True) -> Path:
    """Point CrewAI's storage at ``storage_dir`` and switch its telemetry off.

    CrewAI joins ``CREWAI_STORAGE_DIR`` to the per-user data directory; an absolute path wins
    that join on every platform, so everything CrewAI keeps per project (flow persistence,
    memory, knowledge, its user-data file) lands in ``storage_dir``.
    """
    global _applied_storage
    storage_dir = storage_dir.expanduser().resolve()
    storage_dir.mkdir(parents=True, exist_ok=True)
    wanted = str(storage_dir)
    current = os.environ.get("CREWAI_STORAGE_DIR")
    if _applied_storage is None or current != _applied_storage:
        if current and current != wanted and _applied_storage is not None:
            log.warning("CREWAI_STORAGE_DIR was changed to %s outside the provider", current)
        os.environ["CREWAI_STORAGE_DIR"] = wanted
        _applied_storage = wanted
    elif wanted != _applied_storage:
        log.warning(
            "CrewAI storage is process-wide and already set to %s; ignoring storage_dir %s",
            _applied_storage, wanted,
        )
    if disable_telemetry:
        os.environ.update(TELEMETRY_OFF)
    if "crewai" in sys.modules and current != os.environ["CREWAI_STORAGE_DIR"]:
        log.info("crewai was imported before the provider configured its storage directory; "
                 "paths CrewAI computed at import time keep their old location")
    return Path(os.environ["CREWAI_STORAGE_DIR"])
