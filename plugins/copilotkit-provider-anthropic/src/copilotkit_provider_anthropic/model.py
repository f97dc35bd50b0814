"""The Anthropic SDK behind the runtime's chat loop: requests out, stream deltas and errors in.

Only translation lives here (the loop is the core's :mod:`copilotkit_runtime.llm.loop`):
AG-UI messages → Messages API turns (system text to ``system``, tool calls to ``tool_use``
blocks, results to ``tool_result`` blocks, images to base64 or URL image blocks), the streamed
events → text and tool-call deltas, the SDK's exceptions → :class:`~copilotkit_runtime.llm.LLMError`
kinds, with the key never in a message. The SDK's own retries are off: the loop retries the
same way for every SDK.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import anthropic
import orjson
from ag_ui.core import (
    AssistantMessage,
    DeveloperMessage,
    Message,
    SystemMessage,
    ToolMessage,
    UserMessage,
)

from copilotkit_runtime.http import httpx_flavour, lean_async_client, sse_events
from copilotkit_runtime.llm import (
    ChatModel,
    LLMAuthError,
    LLMBadRequestError,
    LLMError,
    LLMRateLimitError,
    LLMStreamError,
    LLMTimeoutError,
    LLMUpstreamError,
    ModelDelta,
    ModelRequest,
    TextDelta,
    ToolCallDelta,
    ToolChoice,
    Usage,
)

from .defaults import DEFAULT_MAX_TOKENS

__all__ = ["DEFAULT_MAX_TOKENS", "AnthropicChatModel", "to_anthropic_messages"]


#: the httpx module the SDK is built on (``httpx2`` for SDK 2.x), for its errors mid-stream
_HX = httpx_flavour(anthropic.DefaultAsyncHttpxClient)

# Anthropic's error types, for errors that arrive inside a 200 stream (``event: error``).
_STREAM_ERROR_STATUS = {
    "authentication_error": 401, "permission_error": 403, "not_found_error": 404,
    "invalid_request_error": 400, "request_too_large": 413, "rate_limit_error": 429,
    "api_error": 500, "overloaded_error": 529, "timeout_error": 504,
}


class AnthropicChatModel(ChatModel):
    def __init__(self, *, api_key: str | None, base_url: str | None = None,
                 headers: Mapping[str, str] | None = None, timeout: float = 60.0,
                 key_hint: str = "the ANTHROPIC_API_KEY environment variable",
                 lean_transport: bool = True,
                 client: anthropic.AsyncAnthropic | None = None) -> None:
        self._key = api_key or ""
        self.base_url = base_url
        self.timeout = timeout
        self.key_hint = key_hint
        # An explicit api_key keeps the SDK from reading credentials of its own (environment,
        # profiles on disk): the runtime's config decides which key is used.
        self.client = client or anthropic.AsyncAnthropic(
            api_key=api_key or "not-needed",
            base_url=base_url,
            default_headers=dict(headers or {}),
            timeout=timeout,
            max_retries=0,
            # http:// base URLs on the core's httptools transport; https and proxies go
            # through httpx's own (copilotkit_runtime.http); SDK 2.x is on httpx2, 0.x on httpx
            http_client=(lean_async_client(flavour=_HX,
                                           timeout=timeout, follow_redirects=True)
                         if lean_transport else None),
        )

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelDelta, None]:
        system, messages = to_anthropic_messages(request.system, request.messages)
        params: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "stream": True,
        }
        if system:
            params["system"] = system
        if request.tools:
            params["tools"] = [{"name": t.name, "description": t.description,
                                "input_schema": _object_schema(t.parameters)}
                               for t in request.tools]
            choice = _tool_choice(request.tool_choice)
            if choice is not None:
                params["tool_choice"] = choice
        if request.temperature is not None:
            # Anthropic takes 0..1; OpenAI-minded clients may forward up to 2. Sent as an extra
            # body field: recent SDKs (2.x) no longer have the parameter, older ones and
            # gateways still honour the field.
            params["extra_body"] = {"temperature": min(max(request.temperature, 0.0), 1.0)}
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        extra = params.pop("extra_body", None)
        if extra:
            params.update(extra)
        try:
            # The SDK sends the request (auth, version header, base URL, status errors); the
            # streamed body is read here as plain JSON: the SDK's typed events cost about two
            # thirds of the CPU per streamed reply (bench/README.md, "The LLM path").
            stream = await self.client.post("/v1/messages", body=params, cast_to=object,
                                            stream=True, stream_cls=anthropic.AsyncStream[Any])
        except Exception as exc:
            raise self._error(exc) from None
        finished = False
        input_tokens: int | None = None
        try:
            async for kind_bytes, data in sse_events(stream.response.aiter_bytes()):
                if finished:
                    continue  # read on to the body's end: the connection goes back to the pool
                event = orjson.loads(data)
                if not isinstance(event, dict):
                    raise ValueError(f"a stream event is not a JSON object: {data[:100]!r}")
                kind = event.get("type") or kind_bytes.decode()
                if kind == "content_block_delta":
                    delta = event.get("delta") or {}
                    dtype = delta.get("type")
                    if dtype == "text_delta":
                        if delta.get("text"):
                            yield TextDelta(delta["text"])
                    elif dtype == "input_json_delta":
                        yield ToolCallDelta(index=event.get("index") or 0,
                                            arguments=delta.get("partial_json") or "")
                    # thinking, signatures, citations: not the chat's text
                elif kind == "content_block_start":
                    block = event.get("content_block") or {}
                    if block.get("type") == "tool_use":
                        initial = block.get("input")
                        yield ToolCallDelta(index=event.get("index") or 0, id=block.get("id"),
                                            name=block.get("name"),
                                            arguments=json.dumps(initial) if initial else "")
                    elif block.get("type") == "text" and block.get("text"):
                        yield TextDelta(block["text"])
                elif kind == "message_start":
                    # Held back, not yielded: a delta counts as streamed output for the loop,
                    # and an ``event: error`` (overloaded) right after this is still retried.
                    usage = (event.get("message") or {}).get("usage") or {}
                    input_tokens = usage.get("input_tokens")
                elif kind == "message_delta":
                    usage = event.get("usage") or {}
                    yield Usage(input_tokens=input_tokens, output_tokens=usage.get("output_tokens"))
                elif kind == "message_stop":
                    finished = True
                elif kind == "error":
                    raise self._stream_error(event, stream.response.headers)
        except LLMError:
            raise
        except Exception as exc:
            raise self._error(exc, streaming=True) from None
        finally:
            await stream.close()  # closes the HTTP response, also when the run is cancelled
        if not finished:
            raise LLMStreamError("The model's stream ended before the model finished its answer "
                                 "(no message_stop: cut off upstream or by a proxy).")

    async def aclose(self) -> None:
        await self.client.close()

    # -- errors -------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        if self._key and len(self._key) >= 6:
            text = text.replace(self._key, "***")
        return text[:500]

    def _error(self, exc: BaseException, *, streaming: bool = False) -> LLMError:
        where = f" at {self.base_url}" if self.base_url else ""
        if isinstance(exc, anthropic.APITimeoutError):
            return LLMTimeoutError(f"The model did not answer within {self.timeout:g} s{where} "
                                   "(agents.NAME.timeout).")
        if isinstance(exc, anthropic.APIConnectionError):
            if streaming:
                return LLMStreamError(f"The connection to the model broke mid-stream{where}: "
                                      f"{self._scrub(exc.message)}")
            return LLMUpstreamError(f"Could not reach the model{where}: {self._scrub(exc.message)}")
        if isinstance(exc, _HX.TimeoutException):
            return LLMTimeoutError(f"The model did not answer within {self.timeout:g} s{where} "
                                   "(agents.NAME.timeout).")
        if isinstance(exc, _HX.HTTPError) and streaming:
            return LLMStreamError(f"The connection to the model broke mid-stream{where}: "
                                  f"{type(exc).__name__}")
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            if status < 400:  # an ``event: error`` inside the stream: its type says what it is
                status = _STREAM_ERROR_STATUS.get(_error_type(exc.body) or "", 500)
            return self._status_error(status, _message(exc), exc.response.headers)
        if isinstance(exc, ValueError) and streaming:  # a data line that is not JSON
            return LLMStreamError(f"The model's stream was malformed: {self._scrub(str(exc))}")
        if isinstance(exc, anthropic.AnthropicError):
            return LLMUpstreamError(f"The Anthropic client failed: {self._scrub(str(exc))}")
        return LLMStreamError(f"The model call failed: {type(exc).__name__}: "
                              f"{self._scrub(str(exc))}")

    def _status_error(self, status: int, message: str, headers: Any) -> LLMError:
        where = f" at {self.base_url}" if self.base_url else ""
        if status in (401, 403):
            return LLMAuthError(
                f"Anthropic refused the API key (HTTP {status}). Check {self.key_hint}.",
                status=status)
        if status == 429:
            return LLMRateLimitError(f"Anthropic is rate limiting (HTTP 429){where}.",
                                     retry_after=_retry_after(headers))
        if status == 529:
            return LLMUpstreamError(f"Anthropic is overloaded (HTTP 529){where}.", status=status)
        if status >= 500:
            return LLMUpstreamError(f"Anthropic failed (HTTP {status}){where}.", status=status)
        return LLMBadRequestError(f"Anthropic refused the request (HTTP {status}): "
                                  f"{self._scrub(message)}", status=status)

    def _stream_error(self, event: dict[str, Any], headers: Any) -> LLMError:
        """An ``event: error`` inside a 200 stream: its type says what it is."""
        inner = event.get("error")
        message = str(inner.get("message", "")) if isinstance(inner, dict) else str(event)
        status = _STREAM_ERROR_STATUS.get(_error_type(event) or "", 500)
        return self._status_error(status, message, headers)


def _error_type(body: Any) -> str | None:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):
            return str(inner["type"])
    return None


def _message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return exc.message


def _retry_after(headers: Any) -> float | None:
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _tool_choice(choice: ToolChoice) -> dict[str, Any] | None:
    if choice.mode == "function" and choice.name:
        return {"type": "tool", "name": choice.name}
    if choice.mode == "required":
        return {"type": "any"}
    if choice.mode == "none":
        return {"type": "none"}
    return None  # auto: the API's default


def _object_schema(schema: Any) -> dict[str, Any]:
    """``input_schema`` must be an object schema; frontends sometimes send ``{}``."""
    if not isinstance(schema, dict) or not schema:
        return {"type": "object", "properties": {}}
    if "type" not in schema:
        return {"type": "object", **schema}
    return schema


# -- messages -----------------------------------------------------------------------------------

_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


def _tool_id(value: str | None) -> str:
    """Anthropic accepts ``[a-zA-Z0-9_-]+`` tool-use ids; AG-UI ids may hold other characters.
    The same id maps the same way in the call and its result."""
    return _ID_UNSAFE.sub("_", value or "") or "call"


def to_anthropic_messages(system: str, messages: Sequence[Message] | Any
                          ) -> tuple[str, list[dict[str, Any]]]:
    """AG-UI messages as Messages API turns: ``(system, messages)``.

    The system prompt and every system/developer message go to ``system``; tool results become
    ``tool_result`` blocks of a user turn (consecutive results in one turn); turns of the same
    role are merged, since the API wants user and assistant to alternate and the conversation
    to open with the user.
    """
    system_parts = [system.strip()] if system and system.strip() else []
    turns: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if turns and turns[-1]["role"] == role:
            previous = turns[-1]["content"]
            if role == "user" and blocks[0]["type"] == "tool_result":
                # results must lead their turn: place them before the previous user text
                results = [b for b in previous if b["type"] == "tool_result"]
                others = [b for b in previous if b["type"] != "tool_result"]
                turns[-1]["content"] = results + blocks + others
            else:
                previous.extend(blocks)
        else:
            turns.append({"role": role, "content": list(blocks)})

    for message in messages:
        if isinstance(message, SystemMessage | DeveloperMessage):
            text = _text(message.content).strip()
            if text:
                system_parts.append(text)
        elif isinstance(message, UserMessage):
            add("user", _user_blocks(message.content))
        elif isinstance(message, AssistantMessage):
            blocks: list[dict[str, Any]] = []
            text = _text(message.content)
            if text.strip():
                blocks.append({"type": "text", "text": text})
            for call in message.tool_calls or ():
                blocks.append({"type": "tool_use", "id": _tool_id(call.id),
                               "name": call.function.name,
                               "input": _arguments(call.function.arguments)})
            add("assistant", blocks)
        elif isinstance(message, ToolMessage):
            add("user", [{"type": "tool_result", "tool_use_id": _tool_id(message.tool_call_id),
                          "content": _text(message.content) or "(no result)"}])
        # activity / reasoning messages are the UI's, not the model's
    if turns and turns[0]["role"] == "assistant":
        # An app's greeting ("Hi! How can I help?") opens many chats; the API wants the user
        # first, so the greeting becomes part of the instructions.
        greeting = " ".join(b["text"] for b in turns[0]["content"] if b["type"] == "text")
        if not any(b["type"] == "tool_use" for b in turns[0]["content"]):
            turns.pop(0)
            if greeting:
                system_parts.append(f"You opened the conversation with: {greeting}")
        else:
            turns.insert(0, {"role": "user", "content": [{"type": "text", "text": "(start)"}]})
    last = turns[-1] if turns else None
    if last is not None and last["role"] == "assistant":
        # A trailing assistant turn is a prefill: the API rejects trailing whitespace in it.
        for block in last["content"]:
            if block["type"] == "text":
                block["text"] = block["text"].rstrip()
    return "\n\n".join(system_parts), turns


def _arguments(text: str | None) -> Any:
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"arguments": text}  # keep what the model sent, in the object the API requires
    return value if isinstance(value, dict) else {"value": value}


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(getattr(part, "text", "") or "" for part in content
                   if getattr(part, "type", "text") == "text")


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return [{"type": "text", "text": content}] if content and content.strip() else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = getattr(part, "type", None)
        if kind == "text":
            if part.text and part.text.strip():
                blocks.append({"type": "text", "text": part.text})
        elif kind in ("image", "binary"):
            image = _image_block(part)
            if image is not None:
                blocks.append(image)
    return blocks


_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.+)$", re.DOTALL)


def _image_block(part: Any) -> dict[str, Any] | None:
    source = getattr(part, "source", None)
    if source is not None:
        value = getattr(source, "value", None)
        if not value:
            return None
        kind = getattr(source, "type", "")
        if kind == "url":
            return _image_from_url(value)
        if kind == "data":
            return _base64_image(getattr(source, "mime_type", None) or "image/png", value)
        return None  # a provider's file id: not one Anthropic's Messages API can resolve
    mime = getattr(part, "mime_type", "") or ""
    if not mime.startswith("image/"):
        return None
    data = getattr(part, "data", None)
    if data:
        return _base64_image(mime, data)
    url = getattr(part, "url", None)
    return _image_from_url(url) if url else None


def _image_from_url(url: str) -> dict[str, Any]:
    match = _DATA_URL.match(url)
    if match:
        return _base64_image(match["mime"], match["data"])
    return {"type": "image", "source": {"type": "url", "url": url}}


def _base64_image(mime: str, data: str) -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}
