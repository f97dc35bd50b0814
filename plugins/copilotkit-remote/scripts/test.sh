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

# shellcheck source=../../../scripts/lib/side-venv.sh
source "$ROOT/scripts/lib/side-venv.sh"
side_venv "$HERE/.crewai-sdk-venv" "$HERE/tests/crewai_sdk/requirements.txt" sync python

if [ "${1:-}" = "--setup-only" ]; then
  exit 0
fi

cd "$ROOT"
side_venv_log "running the copilotkit-remote tests"
exec "${UV[@]}" run --locked pytest "$HERE/tests" "$@"
