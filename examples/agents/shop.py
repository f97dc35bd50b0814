"""The backend action of the example: ``[actions.lookup_order]`` in ``copilotkit.toml``.

The runtime offers it to the LLM agent as a tool (parameters from the type hints), runs it
when the model calls it, and feeds the result back to the model.
"""

from __future__ import annotations

ORDERS = {
    1: {"status": "shipped", "delivery": "tomorrow"},
    7: {"status": "delivered", "delivery": "yesterday"},
    42: {"status": "packing", "delivery": "in three days"},
}


def lookup_order(order_id: int) -> dict[str, object]:
    """The order's status and delivery date (an unknown number says so)."""
    order = ORDERS.get(order_id)
    if order is None:
        return {"order_id": order_id, "status": "unknown order"}
    return {"order_id": order_id, **order}
