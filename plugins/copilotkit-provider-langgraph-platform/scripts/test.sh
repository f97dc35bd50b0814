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

log() { printf '\n==> %s\n' "$*" >&2; }

if command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  python3 -m uv --version >/dev/null 2>&1 || { log "installing uv"; python3 -m pip install --quiet uv; }
  UV=(python3 -m uv)
fi

VENV="$HERE/.server-venv"
REQS="$HERE/tests/server-requirements.txt"
STAMP="$VENV/.requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/langgraph" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  log "creating the LangGraph dev server's own environment ($VENV)"
  "${UV[@]}" venv --quiet --allow-existing --python 3.11 "$VENV"
  "${UV[@]}" pip install --quiet --python "$VENV/bin/python" -r "$REQS"
  echo "$want" > "$STAMP"
fi

if [ "${1:-}" = "--setup-only" ]; then
  exit 0
fi

cd "$ROOT"
log "running the LangGraph Platform provider tests"
exec "${UV[@]}" run --locked pytest "$HERE/tests" "$@"
