#!/usr/bin/env bash
# copilotkit-remote's CrewAI tests run against a REAL CopilotKit SDK endpoint serving CrewAI flows
# (copilotkit.crewai.CrewAIAgent, tests/crewai_sdk/server.py), started as a subprocess. CrewAI
# and the SDK's [crewai] extra pin versions the workspace does not use, so the endpoint gets its
# OWN environment (.crewai-sdk-venv, pinned by tests/crewai_sdk/requirements.txt); the plugin
# itself runs in the uv workspace.
#
# Usage: plugins/copilotkit-remote/scripts/test.sh [--setup-only] [pytest args]
#   --setup-only   create/refresh the endpoint's environment and stop (scripts/test.sh does
#                  this before the workspace run, which then runs these tests with the others)
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

log() { printf '\n==> %s\n' "$*" >&2; }

if command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  python3 -m uv --version >/dev/null 2>&1 || { log "installing uv"; python3 -m pip install --quiet uv; }
  UV=(python3 -m uv)
fi

VENV="$HERE/.crewai-sdk-venv"
REQS="$HERE/tests/crewai_sdk/requirements.txt"
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  log "creating the CopilotKit SDK (CrewAI) endpoint's own environment ($VENV)"
  "${UV[@]}" venv --quiet --allow-existing --python 3.11 "$VENV"
  "${UV[@]}" pip sync --quiet --python "$VENV/bin/python" "$REQS"
  echo "$want" > "$STAMP"
fi

if [ "${1:-}" = "--setup-only" ]; then
  exit 0
fi

cd "$ROOT"
log "running the copilotkit-remote tests"
exec "${UV[@]}" run --locked pytest "$HERE/tests" "$@"
