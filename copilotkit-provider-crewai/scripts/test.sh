#!/usr/bin/env bash
# Install this package's own environment (CrewAI and its ~0.8 GB of dependencies, pinned by
# this folder's uv.lock, separate from the workspace's) and run its tests.
#
# Usage: copilotkit-provider-crewai/scripts/test.sh [pytest args]
# The tests are offline: CrewAI's LLM calls go to a fake server on 127.0.0.1. Where the machine
# allows it (root, or unprivileged user namespaces), they run in a network namespace that has
# only a loopback interface, so nothing can reach out even by accident. Set CREWAI_TESTS_NETNS=0
# to run them in the normal network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }

if command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  python3 -m uv --version >/dev/null 2>&1 || { log "installing uv"; python3 -m pip install --quiet uv; }
  UV=(python3 -m uv)
fi

log "syncing copilotkit-provider-crewai's own environment"
if ! "${UV[@]}" lock --check >/dev/null 2>&1; then
  # The core is a path dependency: when its dependencies change, this lock must follow. uv keeps
  # every other locked version it can. (Commit the refreshed uv.lock.)
  log "the core's dependencies changed: refreshing uv.lock"
  "${UV[@]}" lock
fi
"${UV[@]}" sync --locked

# The real npm clients live in the runtime workspace; install them if the workspace script has
# not already done so (tests that need them skip when they are missing).
for dir in ../tests/node ../tests/node-v2; do
  if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ] && command -v npm >/dev/null 2>&1; then
    log "installing npm packages in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done

export CREWAI_DISABLE_TELEMETRY=true CREWAI_DISABLE_TRACKING=true CREWAI_TRACING_ENABLED=false \
       CREWAI_DISABLE_VERSION_CHECK=true OTEL_SDK_DISABLED=true LITELLM_LOCAL_MODEL_COST_MAP=True

PYTEST=(.venv/bin/python -m pytest)
log "running the CrewAI provider tests"
if [ "${CREWAI_TESTS_NETNS:-1}" != 0 ] && command -v unshare >/dev/null 2>&1 \
    && command -v ip >/dev/null 2>&1 && unshare -rn true 2>/dev/null; then
  exec unshare -rn sh -c 'ip link set lo up && exec "$@"' sh "${PYTEST[@]}" "$@"
fi
exec "${PYTEST[@]}" "$@"
