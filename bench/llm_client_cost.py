"""What reading one streamed reply costs the runtime's side, by layer (CPU ms per reply).

    python bench/llm_client_cost.py [--replies 200] [--chunks 200]

Starts the fake OpenAI server (its own process), then streams ``--replies`` replies of
``--chunks`` chunks one after another and reports this process's CPU per reply for:

* ``sdk-typed``: ``client.chat.completions.create(stream=True)``, iterating the SDK's typed
  ``AsyncStream`` (a ``ChatCompletionChunk`` model per chunk: what the plugin did first);
* ``plugin``: ``OpenAIChatModel.stream`` as shipped (``client.post`` + its own SSE reader, on
  the core's ``copilotkit_runtime.http`` transport: asyncio + httptools);
* ``plugin+httpx``: the same with ``lean_transport = false`` (httpx's own transport: httpcore
  + h11);
* ``httpx-bytes``: the same request through the SDK's stock httpx client, body bytes only;
* ``asyncio-raw``: the same request over a plain asyncio stream, bytes read to the end (a floor
  for any Python HTTP client).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import free_port

MESSAGES = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello from the harness"}]


async def measure(name: str, replies: int, once) -> float:  # type: ignore[no-untyped-def]
    for _ in range(5):
        await once()
    t0 = time.process_time()
    for _ in range(replies):
        await once()
    return (time.process_time() - t0) * 1000 / replies


async def main_async(url: str, replies: int) -> dict[str, float]:
    import openai
    from ag_ui.core import UserMessage

    from copilotkit_provider_openai.model import OpenAIChatModel
    from copilotkit_runtime.llm import ModelRequest

    client = openai.AsyncOpenAI(api_key="x", base_url=url, max_retries=0)
    model = OpenAIChatModel(api_key="x", base_url=url)
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True,
            "stream_options": {"include_usage": True}}

    async def sdk_typed() -> None:
        stream = await client.chat.completions.create(**body)
        async for chunk in stream:
            for choice in chunk.choices:
                _ = choice.delta.content

    request = ModelRequest(model="gpt-4o-mini", system="You are a helpful assistant.",
                           messages=[UserMessage(id="u1", content="Hello from the harness")])

    async def plugin() -> None:
        async for _ in model.stream(request):
            pass

    async def httpx_bytes() -> None:
        stream = await client.post("/chat/completions", body=body, cast_to=object, stream=True,
                                   stream_cls=openai.AsyncStream[object])
        async for _ in stream.response.aiter_bytes():
            pass
        await stream.close()

    host, port = url.split("//")[1].split("/")[0].split(":")
    raw_body = json.dumps(body).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}:{port}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(raw_body)}\r\n\r\n").encode()
    conn: list[asyncio.StreamReader | asyncio.StreamWriter] = []

    async def asyncio_raw() -> None:
        if not conn:
            conn.extend(await asyncio.open_connection(host, int(port)))
        reader, writer = conn
        writer.write(head + raw_body)  # type: ignore[union-attr]
        buf = b""
        while not buf.endswith(b"\r\n0\r\n\r\n"):
            buf += await reader.read(65536)  # type: ignore[union-attr]

    stock_model = OpenAIChatModel(api_key="x", base_url=url, lean_transport=False)

    async def plugin_httpx() -> None:
        async for _ in stock_model.stream(request):
            pass

    out = {}
    for name, fn in (("sdk-typed", sdk_typed), ("plugin", plugin), ("httpx-bytes", httpx_bytes),
                     ("plugin+httpx", plugin_httpx), ("asyncio-raw", asyncio_raw)):
        out[name] = round(await measure(name, replies, fn), 2)
        print(f"{name:<12} {out[name]:>6} ms CPU per reply", flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replies", type=int, default=200)
    p.add_argument("--chunks", type=int, default=200)
    args = p.parse_args()
    port = free_port()
    fake = subprocess.Popen([sys.executable, "-m", "copilotkit_runtime.testing.fake_llm",
                             "--port", str(port), "--chunks", str(args.chunks)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/v1"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(main_async(url, args.replies))
    finally:
        fake.terminate()
        fake.wait(10)


if __name__ == "__main__":
    main()
