from __future__ import annotations

import sys
from pathlib import Path

# Test-only providers live next to the tests.
sys.path.insert(0, str(Path(__file__).parent))
