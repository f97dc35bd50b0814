from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from openai_helpers import fake, llm, served  # noqa: F401  (the fixtures)
