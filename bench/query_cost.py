"""What one ordinary query costs on the executor (parsed once, executed 5,000 times).

    uv run python bench/query_cost.py                                  # this checkout
    PYTHONPATH=/work/main/core/src uv run python bench/query_cost.py   # another checkout's core

Prints microseconds per ``{ hello availableAgents { ... } }`` with five agents (no HTTP).
"""

import time
import types

from graphql import experimental_execute_incrementally, parse

from copilotkit_runtime.graphql.schema import get_schema

agents = [types.SimpleNamespace(name=f"a{i}", description="d") for i in range(5)]
runtime = types.SimpleNamespace(engine=types.SimpleNamespace(agent_infos=lambda: agents))
doc = parse("{ hello availableAgents { agents { id name description __typename } } }")
schema = get_schema()
ctx = {"runtime": runtime, "request": None}
for _ in range(200):
    experimental_execute_incrementally(schema, doc, context_value=ctx)
n = 5000
t = time.perf_counter()
for _ in range(n):
    r = experimental_execute_incrementally(schema, doc, context_value=ctx)
dt = time.perf_counter() - t
assert not r.errors, r.errors
print(f"{1e6 * dt / n:.1f} us per hello+availableAgents execution")
