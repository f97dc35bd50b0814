"""Reading a multipart incremental response the way urql 5 does (the old ``incremental`` format)."""

from __future__ import annotations

import copy
import json
from typing import Any


def parts(body: bytes) -> list[dict[str, Any]]:
    text = body.decode("ascii")
    assert text.startswith("\r\n---\r\n") and text.endswith("\r\n-----\r\n")
    payloads = []
    for chunk in text.split("\r\n---")[1:-1]:
        head, _, json_text = chunk.partition("\r\n\r\n")
        assert head == ("\r\nContent-Type: application/json; charset=utf-8\r\n"
                        f"Content-Length: {len(json_text.encode())}")
        payloads.append(json.loads(json_text))
    assert [p["hasNext"] for p in payloads] == [True] * (len(payloads) - 1) + [False]
    return payloads


def _walk(value: Any, path: list[Any]) -> Any:
    for step in path:
        value = value[step]
    return value


def _deep_merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(target.get(key), dict) and isinstance(value, dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


def merge(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """urql's merge of the old incremental format."""
    result: dict[str, Any] = copy.deepcopy(payloads[0]["data"])
    for payload in payloads[1:]:
        assert "data" not in payload
        for entry in payload.get("incremental", ()):
            path = entry["path"]
            if "items" in entry:
                target = _walk(result, path[:-1])
                for offset, item in enumerate(entry["items"]):
                    index = path[-1] + offset
                    assert index <= len(target), f"hole in {path}"
                    if index == len(target):
                        target.append(item)
                    else:
                        target[index] = item
            else:
                _deep_merge(_walk(result, path), entry["data"])
    return {"data": result}
