"""The OpenAI SDK behind the runtime's chat loop: requests out, stream deltas and errors in.

Only translation lives here (the loop is the core's :mod:`copilotkit_runtime.llm.loop`):
AG-UI messages → Chat Completions messages, the streamed chunks → text and tool-call deltas,
the SDK's exceptions → :class:`~copilotkit_runtime.llm.LLMError` kinds, with the key never in
a message. The SDK's own retries are off: the loop retries the same way for every SDK.

The SDK sends the request (``client.post``: auth, headers, base URL, Azure, status errors);
the streamed body is read here as plain JSON dicts. The SDK's typed ``AsyncStream`` builds a
model object per chunk (50-60% of the server's CPU per streamed reply), and ``create`` walks the
parameters' type hints once more per call (bench/README.md, "The LLM path"). The parameters
built here are already the wire's JSON.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any, cast

import httpx
import openai
import orjson
from ag_ui.core import Message

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
    Usage,
)

__all__ = ["OpenAIChatModel", "to_openai_messages"]


class OpenAIChatModel(ChatModel):
    def __init__(self, *, api_key: str | None, base_url: str | None = None,
                 organization: str | None = None, headers: Mapping[str, str] | None = None,
                 timeout: float = 60.0,
                 key_hint: str = "the OPENAI_API_KEY environment variable",
                 transcription_model: str | None = "whisper-1", lean_transport: bool = True,
                 client: openai.AsyncOpenAI | None = None) -> None:
        self._key = api_key or ""
        self.base_url = base_url
        self.timeout = timeout
        self.key_hint = key_hint
        self.transcription_model = transcription_model
        timeouts = httpx.Timeout(timeout, connect=min(10.0, timeout))
        self.client = client or openai.AsyncOpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url,
            organization=organization,
            default_headers=dict(headers or {}),
            timeout=timeouts,
            max_retries=0,
            # http:// base URLs on the core's httptools transport (a third of the CPU per
            # streamed reply, bench/README.md); https and proxies go through httpx's own
            http_client=(lean_async_client(flavour=httpx_flavour(openai.DefaultAsyncHttpxClient),
                                           timeout=timeouts, follow_redirects=True)
                         if lean_transport else None),
        )

    @property
    def can_transcribe(self) -> bool:
        return bool(self.transcription_model)

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelDelta, None]:
        params: dict[str, Any] = {
            "model": request.model,
            "messages": to_openai_messages(request.system, request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:
            params["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in request.tools]
            choice = request.tool_choice
            if choice.mode == "function" and choice.name:
                params["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
            elif choice.mode in ("none", "required"):
                params["tool_choice"] = choice.mode
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if request.stop:
            params["stop"] = list(request.stop)
        try:
            # status errors are raised here; the body is not read yet (never through `stream`)
            stream = await self.client.post("/chat/completions", body=params, cast_to=object,
                                            stream=True, stream_cls=openai.AsyncStream[Any])
        except Exception as exc:
            raise self._error(exc) from None
        finished = False
        try:
            done = False
            async for data in _sse_data(stream.response):
                if done or data == b"[DONE]":
                    # read on to the body's end, so the connection goes back to the pool
                    done = True
                    continue
                chunk = orjson.loads(data)  # a third of json.loads's CPU per chunk
                if not isinstance(chunk, dict):
                    raise ValueError(f"a stream chunk is not a JSON object: {data[:100]!r}")
                if chunk.get("error"):
                    raise LLMUpstreamError(
                        f"The model provider sent an error mid-stream: {self._scrub(str(chunk['error']))}")
                usage = chunk.get("usage")
                if usage:
                    yield Usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta")
                    if delta:
                        content = delta.get("content")
                        if content:
                            yield TextDelta(content)
                        for call in delta.get("tool_calls") or ():
                            function = call.get("function") or {}
                            yield ToolCallDelta(index=call.get("index") or 0, id=call.get("id"),
                                                name=function.get("name"),
                                                arguments=function.get("arguments") or "")
                    if choice.get("finish_reason"):
                        finished = True
        except LLMError:
            raise
        except Exception as exc:
            raise self._error(exc, streaming=True) from None
        finally:
            await stream.close()  # closes the HTTP response, also when the run is cancelled
        if not finished:
            raise LLMStreamError("The model's stream ended before the model finished its answer "
                                 "(cut off upstream or by a proxy).")

    async def transcribe(self, audio: bytes, *, filename: str, mime_type: str) -> str:
        if not self.transcription_model:
            raise NotImplementedError("transcription is off (transcription_model is empty)")
        try:
            result = await self.client.audio.transcriptions.create(
                model=self.transcription_model, file=(filename, audio, mime_type))
        except Exception as exc:
            raise self._error(exc) from None
        return str(getattr(result, "text", result))

    async def aclose(self) -> None:
        await self.client.close()

    # -- errors -------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        if self._key and len(self._key) >= 6:
            text = text.replace(self._key, "***")
        return text[:500]

    def _error(self, exc: BaseException, *, streaming: bool = False) -> LLMError:
        where = f" at {self.base_url}" if self.base_url else ""
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return LLMTimeoutError(f"The model did not answer within {self.timeout:g} s{where} "
                                   "(agents.NAME.timeout).")
        if isinstance(exc, openai.APIConnectionError):
            return LLMUpstreamError(f"Could not reach the model{where}: {self._scrub(str(exc))}")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status in (401, 403):
                return LLMAuthError(
                    f"The model provider refused the API key (HTTP {status}). Check "
                    f"{self.key_hint}.", status=status)
            if status == 429:
                return LLMRateLimitError(f"The model provider is rate limiting (HTTP 429){where}.",
                                         retry_after=_retry_after(exc.response.headers))
            if status >= 500:
                return LLMUpstreamError(f"The model provider failed (HTTP {status}){where}.",
                                        status=status)
            return LLMBadRequestError(f"The model provider refused the request (HTTP {status}): "
                                      f"{self._scrub(_message(exc))}", status=status)
        if isinstance(exc, httpx.HTTPError):
            return LLMStreamError(f"The connection to the model broke mid-stream{where}: "
                                  f"{type(exc).__name__}")
        if isinstance(exc, ValueError) and streaming:
            return LLMStreamError(f"The model's stream was malformed: {self._scrub(str(exc))}")
        if isinstance(exc, openai.OpenAIError):
            return LLMUpstreamError(f"The OpenAI client failed: {self._scrub(str(exc))}")
        return LLMStreamError(f"The model call failed: {type(exc).__name__}: {self._scrub(str(exc))}")


async def _sse_data(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """The ``data`` of each server-sent event of a message type (other named events skipped);
    an ``error`` event raises."""
    async for event, data in sse_events(response.aiter_bytes()):
        if event == b"error":
            raise ValueError(f"the stream sent an error event: {data[:200]!r}")
        if event in (b"", b"message"):
            yield data


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
    return exc.message


def _retry_after(headers: httpx.Headers) -> float | None:
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


def to_openai_messages(system: str, messages: Iterable[Message]) -> list[dict[str, Any]]:
    """AG-UI messages as Chat Completions messages (the system prompt first)."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        message = cast(Any, message)  # each role's fields are read under its role
        role = message.role
        if role in ("system", "developer"):
            out.append({"role": "system", "content": _text(message.content)})
        elif role == "user":
            out.append({"role": "user", "content": _user_content(message.content)})
        elif role == "assistant":
            item: dict[str, Any] = {"role": "assistant", "content": _text(message.content) or None}
            if message.tool_calls:
                item["tool_calls"] = [{"id": c.id, "type": "function", "function": {
                    "name": c.function.name, "arguments": c.function.arguments or "{}"}}
                    for c in message.tool_calls]
            out.append(item)
        elif role == "tool":
            out.append({"role": "tool", "tool_call_id": message.tool_call_id,
                        "content": _text(message.content)})
        # activity / reasoning messages are the UI's, not the model's
    return out


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(getattr(part, "text", "") or "" for part in content
                   if getattr(part, "type", "text") == "text")


def _user_content(content: Any) -> Any:
    if isinstance(content, str) or content is None:
        return content or ""
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = getattr(part, "type", None)
        if kind == "text":
            parts.append({"type": "text", "text": part.text})
        elif kind in ("image", "binary"):
            url = _image_url(part)
            if url:
                parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts


def _image_url(part: Any) -> str | None:
    source = getattr(part, "source", None)
    if source is not None:
        value = getattr(source, "value", None)
        if getattr(source, "type", "") == "url":
            return value
        mime = getattr(source, "mime_type", None) or "image/png"
        return f"data:{mime};base64,{value}" if value else None
    mime = getattr(part, "mime_type", "") or ""
    if not mime.startswith("image/"):
        return None
    if getattr(part, "url", None):
        return part.url
    data = getattr(part, "data", None)
    return f"data:{mime};base64,{data}" if data else None
