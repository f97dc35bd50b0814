"""The LangGraph graph of ``bench/agent_paths.py``, the same on every side: one chat node calling
a fake streaming chat model, compiled with an in-memory checkpointer.

``BenchChatModel`` is a langchain-core chat model whose ``_astream`` yields TOKENS chunks
(``"Bench reply."``, ``" token1"`` ... the chunk texts of the other bench modes), yielding to
the event loop between chunks as a model reading an LLM socket would, never sleeping. The node
calls ``model.ainvoke(messages, config)``, the usual way: LangGraph sees the chunks through its
callbacks and each server streams them as it does a real model's.

Imported by our server (``py_server.py --langgraph agent_graph:graph``, in the workspace) and
by the agent servers of the other sides (``agent_sdk/server.py``, in their own environment), so
it needs only langchain-core and langgraph. ``BENCH_TOKENS`` sets the number of chunks.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph

TOKENS = int(os.environ.get("BENCH_TOKENS", "200"))


def chunk_text(i: int) -> str:
    return "Bench reply." if i == 0 else f" token{i}"


class BenchChatModel(BaseChatModel):
    """A chat model that streams ``tokens`` fixed chunks, whatever it is asked."""

    tokens: int = TOKENS

    @property
    def _llm_type(self) -> str:
        return "bench-streaming-fake"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk_text(i) for i in range(self.tokens))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for i in range(self.tokens):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=chunk_text(i)))
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        for i in range(self.tokens):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=chunk_text(i)))
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
            await asyncio.sleep(0)


model = BenchChatModel()


async def chat(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
    return {"messages": [await model.ainvoke(state["messages"], config)]}


def build_graph() -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile(checkpointer=InMemorySaver())


graph = build_graph()
