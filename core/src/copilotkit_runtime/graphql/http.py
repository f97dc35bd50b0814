"""The transport: a GraphQL request body → an HTTP response.

* Queries run through graphql-core and come back as one JSON document.
* ``generateCopilotResponse`` starts the run through the engine first, so everything that can
  refuse a run (unknown agent, guardrail, busy thread) is answered before any byte is sent: an
  unknown agent as a GraphQL error (``AGENT_NOT_FOUND``), the others as a response whose status
  says what happened (the frontend shows it). Then the run's event batches are translated
  (:mod:`.translate`) and encoded (:mod:`.encoder`), one write per batch.
* Every error before streaming is a JSON document with HTTP 200 (the client throws on 4xx/5xx
  and would hide the message), except a request that is not a GraphQL request at all (400).
* A client that goes away cancels the run: the response watches the connection and cancels the
  streaming task, which makes the engine cancel the provider and release the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import weakref
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from graphql import (
    REMOVE,
    DirectiveNode,
    DocumentNode,
    GraphQLError,
    GraphQLObjectType,
    OperationType,
    Visitor,
    experimental_execute_incrementally,
    visit,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from starlette.types import Receive, Scope, Send

from ..errors import (
    AgentNotFoundError,
    CopilotKitRuntimeError,
    GuardrailBlockedError,
    InvalidRequestError,
)
from ..middleware import RequestContext
from .convert import action_names
from .documents import DocumentCache, PreparedDocument
from .encoder import (
    CONTENT_TYPE,
    BufferedEncoder,
    MultipartEncoder,
    ResponsePlan,
    build_response_plan,
    dumps,
)
from .errors import agent_not_found_error, error_extensions, format_error, request_error
from .inputs import build_run_request, requested_agent
from .plan import Planner
from .schema import get_schema
from .translate import OP_DONE, Translator, guardrail_failure, unknown_failure

log = logging.getLogger("copilotkit_runtime.graphql")

MAX_PLANS_PER_DOCUMENT = 16
_JSON = "application/json; charset=utf-8"
_GRAPHQL_JSON = "application/graphql-response+json; charset=utf-8"


class GraphQLService:
    """The GraphQL layer of one runtime: its schema, document cache and limits."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.schema = get_schema()
        self.limits = runtime.settings.limits
        self.documents = DocumentCache(self.schema, self.limits)
        mutation = self.schema.mutation_type
        assert mutation is not None
        self.mutation_type: GraphQLObjectType = mutation
        self.generate_field = mutation.fields["generateCopilotResponse"]

    async def handle(self, request: Request, body: Mapping[str, Any],
                     context: RequestContext) -> Response:
        json_type = _GRAPHQL_JSON if "application/graphql-response+json" in \
            request.headers.get("accept", "") else _JSON
        query, variables, name = body.get("query"), body.get("variables"), body.get("operationName")
        if not isinstance(query, str) or not query.strip():
            return _json({"errors": [request_error("Must provide a query string.")]}, 400, json_type)
        if variables is not None and not isinstance(variables, dict):
            return _json({"errors": [request_error("'variables' must be a JSON object.")]}, 400, json_type)
        if name is not None and not isinstance(name, str):
            return _json({"errors": [request_error("'operationName' must be a string.")]}, 400, json_type)

        prepared = self.documents.get(query)
        if prepared.errors:
            return _errors(prepared.errors, json_type)
        operation = prepared.operation(name)
        if isinstance(operation, str):
            return _json({"errors": [request_error(operation)]}, 200, json_type)
        if operation.operation is OperationType.MUTATION:
            if request.method != "POST":
                return _json({"errors": [request_error("Mutations must be sent with POST.")]},
                             405, json_type)
            return self._generate(request, prepared, operation, variables or {}, context, json_type)
        return await self._query(prepared, name, variables, context, json_type)

    # -- queries -------------------------------------------------------------------------------

    async def _query(self, prepared: PreparedDocument, name: str | None,
                     variables: dict[str, Any] | None, context: RequestContext,
                     json_type: str) -> Response:
        document = prepared.plans.get("query-document")
        if document is None:
            assert prepared.document is not None
            document = prepared.plans["query-document"] = _without_incremental(prepared.document)
        result: Any = experimental_execute_incrementally(
            self.schema, document, context_value={"runtime": self.runtime, "request": context},
            variable_values=variables, operation_name=name)
        if inspect.isawaitable(result):
            result = await result
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [format_error(e) for e in result.errors]
        payload["data"] = result.data
        return _json(payload, 200, json_type)

    # -- generateCopilotResponse ---------------------------------------------------------------

    def _generate(self, request: Request, prepared: PreparedDocument, operation: Any,
                  variables: dict[str, Any], context: RequestContext, json_type: str) -> Response:
        raw_messages = (variables.get("data") or {}).get("messages") \
            if isinstance(variables.get("data"), dict) else None
        if isinstance(raw_messages, list) and len(raw_messages) > self.limits.max_messages:
            return _too_many_messages(len(raw_messages), self.limits.max_messages, json_type)
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), variables,
                                      max_errors=20)
        if isinstance(coerced, list):
            return _errors(coerced, json_type)
        plan = self._plan(prepared, operation, coerced)
        if isinstance(plan, str):
            return _json({"errors": [request_error(plan)]}, 200, json_type)
        if plan is None:  # generateCopilotResponse skipped by @skip/@include
            return _json({"data": {}}, 200, json_type)
        field_node = next(f.node for f in plan[1] if f.name == "generateCopilotResponse")
        try:
            args = get_argument_values(self.generate_field, field_node, coerced)
        except GraphQLError as exc:
            return _errors([exc], json_type)
        data = args["data"]
        if len(data.get("messages") or ()) > self.limits.max_messages:
            return _too_many_messages(len(data["messages"]), self.limits.max_messages, json_type)
        live = plan[0].live and "multipart/mixed" in request.headers.get("accept", "")
        return GenerateResponse(self.runtime, plan[0], data, args.get("properties"), context,
                                live=live, json_type=json_type)

    def _plan(self, prepared: PreparedDocument, operation: Any, variables: VariableValues
              ) -> tuple[ResponsePlan, list[Any]] | str | None:
        key = (operation.name.value if operation.name else None,
               tuple(repr(variables.coerced.get(v)) for v in prepared.directive_variables))
        cached = prepared.plans.get(key)
        if cached is not None:
            return cached
        root = Planner(self.schema, prepared.fragments, variables).plan(
            self.mutation_type, [operation.selection_set])
        if not any(f.name == "generateCopilotResponse" for f in root.fields):
            return None
        response_plan = build_response_plan(root)
        result = response_plan if isinstance(response_plan, str) else (response_plan, root.fields)
        if len(prepared.plans) < MAX_PLANS_PER_DOCUMENT:
            prepared.plans[key] = result
        return result


class _DropIncrementalDirectives(Visitor):
    def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
        return REMOVE if node.name.value in ("defer", "stream") else None


def _without_incremental(document: DocumentNode) -> DocumentNode:
    """Queries are answered in one piece: ``@defer``/``@stream`` are ignored (the spec allows it)."""
    return visit(document, _DropIncrementalDirectives())


def _json(payload: Any, status: int, media_type: str) -> Response:
    return Response(dumps(payload).encode("utf-8"), status_code=status, media_type=media_type)


def _errors(errors: list[GraphQLError], media_type: str) -> Response:
    return _json({"errors": [format_error(e) for e in errors]}, 200, media_type)


def _too_many_messages(count: int, limit: int, media_type: str) -> Response:
    return _json({"errors": [request_error(
        f"The request has {count} messages, more than the limit of {limit} "
        f"(limits.max_messages).", "TOO_MANY_MESSAGES")]}, 200, media_type)


class GenerateResponse(Response):
    """Runs ``generateCopilotResponse`` and writes its answer, watching the connection."""

    def __init__(self, runtime: Any, plan: ResponsePlan, data: dict[str, Any],
                 properties: dict[str, Any] | None, context: RequestContext, *, live: bool,
                 json_type: str) -> None:
        self.runtime = runtime
        self.plan = plan
        self.data = data
        self.properties = properties
        self.context = context
        self.live = live
        self.json_type = json_type
        self.status_code = 200
        self.background = None
        self.headers_sent = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        respond = asyncio.ensure_future(self._respond(send))
        watch = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            await asyncio.wait({respond, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not respond.done():
                respond.cancel()  # the client went away: this cancels the run
                with contextlib.suppress(BaseException):
                    await asyncio.wait({respond})
        if not respond.cancelled() and respond.exception() is not None:
            exc = respond.exception()
            if isinstance(exc, OSError):
                log.debug("client went away: %s", exc)
            else:
                raise exc  # type: ignore[misc]

    # -- the answer ----------------------------------------------------------------------------

    async def _respond(self, send: Send) -> None:
        runtime, data = self.runtime, self.data
        thread_id = data.get("threadId")
        agent = requested_agent(data) or runtime.settings.effective_default_agent()
        if agent is None:
            await self._failed(send, thread_id, unknown_failure(
                "No agent to run: the request names none (agentSession) and no default agent is "
                "configured. Set default_agent in copilotkit.toml, or configure exactly one agent.",
                "CONFIGURATION_ERROR"))
            return
        try:
            run_request = build_run_request(data, self.properties, agent=agent,
                                            principal=self.context.principal)
        except (InvalidRequestError, ValueError) as exc:  # pydantic's ValidationError too
            message = exc.message if isinstance(exc, InvalidRequestError) else \
                f"The request cannot be run: {exc}"[:1000]
            await self._send_json({"errors": [{"message": message,
                                              "extensions": error_extensions("INVALID_REQUEST")}],
                                   "data": None}, send)
            return
        thread_id = run_request.thread_id
        try:
            run = await runtime.engine.start(run_request)
        except AgentNotFoundError as exc:
            await self._send_json({"errors": [format_error(agent_not_found_error(exc))],
                                   "data": None}, send)
            return
        except GuardrailBlockedError as exc:
            await self._failed(send, thread_id, guardrail_failure(exc.reason))
            return
        except CopilotKitRuntimeError as exc:  # a busy thread, a store that is down, ...
            await self._failed(send, thread_id, unknown_failure(exc.message, exc.code))
            return
        except Exception as exc:
            log.exception("could not start a run of agent %s", agent)
            await self._failed(send, thread_id, unknown_failure(
                f"The run could not start: {type(exc).__name__}: {exc}"[:500]))
            return

        request = run.request
        translator = Translator(
            thread_id=request.thread_id, run_id=request.run_id, agent_name=request.agent,
            state=request.state, node_name=request.node_name or "",
            emit_state=requested_agent(data) is not None,
            action_names=_action_names(data))
        root_value = self._root_value(request.thread_id)
        try:
            if self.live:
                await self._stream(send, run, translator, MultipartEncoder(self.plan, root_value))
            else:
                await self._buffer(send, run, translator, BufferedEncoder(self.plan, root_value))
        finally:
            if run.task is None:
                # We went away before reading any event (the provider never started):
                # free the thread now rather than when its lock expires.
                with contextlib.suppress(Exception):
                    await asyncio.shield(run.lease.release())

    def _root_value(self, thread_id: str | None) -> dict[str, Any]:
        return {"__typename": "CopilotResponse", "threadId": thread_id or "",
                "runId": self.data.get("runId"), "extensions": None, "messages": [],
                "metaEvents": [], "status": None}

    async def _stream(self, send: Send, run: Any, translator: Translator,
                      encoder: MultipartEncoder) -> None:
        await self._start(send, CONTENT_TYPE)
        await send({"type": "http.response.body", "body": encoder.start(), "more_body": True})
        tail = b""
        batches = run.event_batches()
        try:
            try:
                async for batch in batches:
                    chunk = encoder.encode(translator.feed(batch))
                    if encoder.finished:
                        # Hold the last part until the run has released its thread, so that a
                        # follow-up request (e.g. after a frontend action) finds it free.
                        tail += chunk
                    elif chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            finally:
                await batches.aclose()
        except OSError:
            raise  # the client went away while we wrote
        except Exception:
            if encoder.finished:
                raise
            log.exception("the GraphQL stream of run %s failed", run.request.run_id)
            try:
                tail += encoder.encode(translator.fail(unknown_failure(
                    "The response stream failed on the server.")))
            except Exception:
                log.exception("could not end the GraphQL stream properly")
                tail += b'\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 17' \
                        b'\r\n\r\n{"hasNext":false}\r\n-----\r\n'
        if not encoder.finished and not tail:
            tail = encoder.encode(translator.fail(unknown_failure("The run ended without a result.")))
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    async def _buffer(self, send: Send, run: Any, translator: Translator,
                      encoder: BufferedEncoder) -> None:
        batches = run.event_batches()
        try:
            async for batch in batches:
                encoder.feed(translator.feed(batch))
        finally:
            await batches.aclose()
        if not encoder.finished:
            encoder.feed(translator.fail(unknown_failure("The run ended without a result.")))
        await self._send_body(send, encoder.result(), self.json_type)

    async def _failed(self, send: Send, thread_id: str | None, status: dict[str, Any]) -> None:
        """A response that ends at once with ``status`` (no run happened)."""
        root_value = self._root_value(thread_id)
        translator_ops: list[tuple[Any, ...]] = [(OP_DONE, status)]
        if self.live:
            encoder = MultipartEncoder(self.plan, root_value)
            body = encoder.start() + encoder.encode(translator_ops)
            await self._start(send, CONTENT_TYPE)
            await send({"type": "http.response.body", "body": body, "more_body": False})
        else:
            buffered = BufferedEncoder(self.plan, root_value)
            buffered.feed(translator_ops)
            await self._send_body(send, buffered.result(), self.json_type)

    async def _start(self, send: Send, content_type: str, length: int | None = None) -> None:
        headers = [(b"content-type", content_type.encode("latin-1")),
                   (b"cache-control", b"no-cache")]
        if length is not None:
            headers.append((b"content-length", str(length).encode("latin-1")))
        self.headers_sent = True
        await send({"type": "http.response.start", "status": 200, "headers": headers})

    async def _send_body(self, send: Send, body: bytes, content_type: str) -> None:
        await self._start(send, content_type, len(body))
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _send_json(self, payload: Any, send: Send) -> None:
        await self._send_body(send, dumps(payload).encode("utf-8"), self.json_type)


def _action_names(data: Mapping[str, Any]) -> dict[str, str]:
    return action_names(data.get("messages") or ())


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


_services: weakref.WeakKeyDictionary[Any, GraphQLService] = weakref.WeakKeyDictionary()


async def handle_graphql(runtime: Any, request: Request, body: dict[str, Any],
                         context: RequestContext) -> Response:
    """Answer one GraphQL request (``POST {base}`` with a ``query``) for ``runtime``."""
    service = _services.get(runtime)
    if service is None:
        service = _services[runtime] = GraphQLService(runtime)
    return await service.handle(request, body, context)
