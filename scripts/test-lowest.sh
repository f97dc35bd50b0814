#!/usr/bin/env bash
# The core's dependency ranges, tested at their LOWER ends: a fresh environment with every
# direct dependency of the core at the oldest version its range admits
# (`uv pip install --resolution lowest-direct`), then the core's own tests in it. The workspace
# run (scripts/test.sh) tests the locked, newest versions; together they test the ranges
# core/pyproject.toml promises.
#
# The test tools themselves (pytest, anyio's pytest plugin, hypothesis, the OpenTelemetry SDK)
# are not the core's dependencies: they come at their newest, except pytest, held below 9
# (pytest 9 needs pluggy >= 1.6, and the core promises pluggy >= 1.5).
#
# Usage: ./scripts/test-lowest.sh [pytest args]   (scripts/test.sh runs it after the workspace)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/side-venv.sh
source scripts/lib/side-venv.sh
side_venv_uv

VENV=.lowest-venv
side_venv_log "the core at the lowest versions of its dependency ranges ($VENV)"
rm -rf "$VENV"
"${UV[@]}" venv --quiet --python 3.11 "$VENV"
"${UV[@]}" pip install --quiet --python "$VENV/bin/python" --resolution lowest-direct \
  -e core -e tests/fixtures/copilotkit-test-plugin
"${UV[@]}" pip install --quiet --python "$VENV/bin/python" "pytest<9" anyio hypothesis \
  "opentelemetry-sdk==$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("opentelemetry-api"))')"
"${UV[@]}" pip list --python "$VENV/bin/python" 2>/dev/null \
  | grep -iE '^(ag-ui-protocol|pluggy|pydantic|fastapi|starlette|uvicorn|httptools|httpx|graphql-core|strawberry-graphql|jsonpatch|packaging|opentelemetry-api) ' >&2

side_venv_log "running the core's tests against those versions"
# test_typecheck runs mypy against the locked versions only (older stubs differ).
exec "$VENV/bin/python" -m pytest -c pyproject.toml --rootdir . -p no:cacheprovider core/tests \
  --deselect core/tests/test_typecheck.py -q "$@"
