#!/usr/bin/env bash
# The LangGraph Platform provider's tests run against a REAL local Agent Server: `langgraph dev`
# (langgraph-api with the in-memory runtime), serving tests/platform_graph with a fake chat
# model. The server moves langgraph/langchain versions, so it gets its OWN environment
# (.server-venv, pinned by tests/server-requirements.txt); the provider itself runs in the uv
# workspace (it needs only langgraph-sdk).
#
# Usage: plugins/copilotkit-provider-langgraph-platform/scripts/test.sh [--setup-only] [pytest args]
#   --setup-only   create/refresh the server environment and stop (scripts/test.sh does this
#                  before the workspace run, which then runs these tests with the others)
# The server runs offline: analytics and tracing are off, no API key of yours reaches it (the
# tests give it its own), it needs no license for the in-memory runtime.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

# shellcheck source=../../../scripts/lib/side-venv.sh
source "$ROOT/scripts/lib/side-venv.sh"
side_venv "$HERE/.server-venv" "$HERE/tests/server-requirements.txt" install langgraph

if [ "${1:-}" = "--setup-only" ]; then
  exit 0
fi

cd "$ROOT"
side_venv_log "running the LangGraph Platform provider tests"
exec "${UV[@]}" run --locked pytest "$HERE/tests" "$@"
