#!/usr/bin/env bash
# Run the whole test suite from a fresh checkout: installs what it needs, then runs
#   1. the uv workspace (core, LangGraph provider, Redis and PostgreSQL stores, protocol and
#      e2e tests);
#   2. the core's tests with its dependencies at the lowest versions its ranges allow
#      (scripts/test-lowest.sh; SKIP_LOWEST=1 skips it);
#   3. the CrewAI provider in its own environment (it pins its own dependency versions).
# The LangGraph Platform provider's tests (part of 1.) need a real LangGraph dev server, which
# gets its own environment first (plugins/copilotkit-provider-langgraph-platform/scripts/test.sh);
# so does the CopilotKit SDK endpoint serving CrewAI flows that copilotkit-remote's tests start
# (plugins/copilotkit-remote/scripts/test.sh).
# Usage: ./scripts/test.sh [pytest args for the workspace run]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }

# uv: the project's package manager. A fresh machine has only pip.
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  python3 -m uv --version >/dev/null 2>&1 || { log "installing uv"; python3 -m pip install --quiet uv; }
  UV=(python3 -m uv)
fi

log "syncing the Python workspace"
"${UV[@]}" sync --locked --all-packages

# redis-server: the Redis store's tests start their own server on a free port.
if ! command -v redis-server >/dev/null 2>&1; then
  log "installing redis-server"
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server is missing and apt-get is not available: install Redis >= 6" >&2
    exit 1
  fi
fi

# PostgreSQL: the PostgreSQL store's tests use 127.0.0.1:5432 when a server answers there, else
# start their own with initdb/pg_ctl (as the postgres user when run as root).
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  log "installing postgresql"
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is missing and apt-get is not available: install PostgreSQL >= 13" >&2
    exit 1
  fi
fi

# chromium: the browser tests (tests/browser) drive Debian's chromium, never a downloaded browser.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  log "installing chromium"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi

# Node clients: the real @copilotkit npm packages, pinned by package-lock.json; the example
# apps and playwright-core for the browser tests; examples/compare's TypeScript runtime (the
# same package tree as bench/ts, so npm's cache has it: ~20 s).
for dir in tests/node tests/node-v2 bench/ts bench/ts-v2 tests/browser examples/react-v1 examples/react-v2 examples/compare; do
  if [ -f "$dir/package-lock.json" ]; then
    log "installing npm packages in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done

PLATFORM_SCRIPT=plugins/copilotkit-provider-langgraph-platform/scripts/test.sh
if [ -x "$PLATFORM_SCRIPT" ] && [ -z "${SKIP_LANGGRAPH_PLATFORM:-}" ]; then
  log "setting up the LangGraph dev server for the LangGraph Platform provider tests (own environment)"
  "$PLATFORM_SCRIPT" --setup-only
fi

REMOTE_SCRIPT=plugins/copilotkit-remote/scripts/test.sh
if [ -x "$REMOTE_SCRIPT" ] && [ -z "${SKIP_CREWAI:-}" ]; then
  log "setting up the CopilotKit SDK (CrewAI) endpoint for the copilotkit-remote tests (own environment)"
  "$REMOTE_SCRIPT" --setup-only
fi

log "running the workspace tests"
"${UV[@]}" run --locked pytest "$@"

if [ -z "${SKIP_LOWEST:-}" ]; then
  log "running the core's tests at the lowest versions its dependency ranges allow"
  ./scripts/test-lowest.sh
fi

if [ -x copilotkit-provider-crewai/scripts/test.sh ] && [ -z "${SKIP_CREWAI:-}" ]; then
  log "running the CrewAI provider tests (own environment)"
  copilotkit-provider-crewai/scripts/test.sh
fi
