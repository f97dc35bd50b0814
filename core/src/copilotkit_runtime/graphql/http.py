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

import inspect
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

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
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from ..errors import (
    AgentNotFoundError,
    CopilotKitRuntimeError,
    GuardrailBlockedError,
    InvalidRequestError,
    TooManyMessagesError,
)
from ..headers import forwarded_headers
from ..middleware import RequestContext
from ..responses import EventStream
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
_NO_CACHE = {"cache-control": "no-cache"}


class GraphQLService:
    """The GraphQL layer of one runtime: its schema, document cache and limits."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.schema = get_schema()
        self.limits = runtime.settings.limits
        self.documents = DocumentCache(self.schema, self.limits,
                                       introspection=runtime.settings.introspection_enabled())
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

        prepared = await self.documents.aget(query)
        if prepared.errors:
            return _errors(prepared.errors, json_type)
        operation = prepared.operation(name)
        if isinstance(operation, str):
            return _json({"errors": [request_error(operation)]}, 200, json_type)
        if operation.operation is OperationType.MUTATION:
            if request.method != "POST":
                return _json({"errors": [request_error("Mutations must be sent with POST.")]},
                             405, json_type)
            return await self._generate(request, prepared, operation, variables or {}, context,
                                        json_type)
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

    async def _generate(self, request: Request, prepared: PreparedDocument, operation: Any,
                        variables: dict[str, Any], context: RequestContext, json_type: str
                        ) -> Response:
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
        live = plan[0].live and "multipart/mixed" in request.headers.get("accept", "")
        answer = GenerateAnswer(self.runtime, plan[0], args["data"], args.get("properties"),
                                context, live=live, json_type=json_type)
        return await answer.start()

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


class GenerateAnswer:
    """One ``generateCopilotResponse``: the run is started here, in the handler, so every
    refusal is answered before any byte is sent; then the response streams the run.

    The response is an :class:`~copilotkit_runtime.responses.EventStream`, which watches the
    connection: a client that goes away cancels the stream, which closes the run's reader,
    which cancels the run (GraphQL runs are not detached) and frees the thread.
    """

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

    async def start(self) -> Response:
        runtime, data = self.runtime, self.data
        thread_id = data.get("threadId")
        agent = requested_agent(data) or runtime.settings.effective_default_agent()
        if agent is None:
            return self._failed(thread_id, unknown_failure(
                "No agent to run: the request names none (agentSession) and no default agent is "
                "configured. Set default_agent in copilotkit.toml, or configure exactly one agent.",
                "CONFIGURATION_ERROR"))
        try:
            run_request = build_run_request(data, self.properties, agent=agent,
                                            principal=self.context.principal)
            run_request.headers = dict(self.context.request.headers)
        except (InvalidRequestError, ValueError) as exc:  # pydantic's ValidationError too
            message = exc.message if isinstance(exc, InvalidRequestError) else \
                f"The request cannot be run: {exc}"[:1000]
            return self._json({"errors": [{"message": message,
                                           "extensions": error_extensions("INVALID_REQUEST")}],
                               "data": None})
        thread_id = run_request.thread_id
        server = runtime.settings.server
        run_request.headers = forwarded_headers(self.context.request.headers.items(),
                                                server.forward_headers, server.provider_headers)
        try:
            run = await runtime.engine.start(run_request)
        except AgentNotFoundError as exc:
            return self._json({"errors": [format_error(agent_not_found_error(exc))], "data": None})
        except TooManyMessagesError as exc:
            return self._json({"errors": [request_error(exc.message, exc.code)]})
        except GuardrailBlockedError as exc:
            return self._failed(thread_id, guardrail_failure(exc.reason))
        except CopilotKitRuntimeError as exc:  # a busy thread, a store that is down, ...
            return self._failed(thread_id, unknown_failure(exc.message, exc.code))
        except Exception as exc:
            log.exception("could not start a run of agent %s", agent)
            return self._failed(thread_id, unknown_failure(
                f"The run could not start: {type(exc).__name__}: {exc}"[:500]))

        request = run.request
        translator = Translator(
            thread_id=request.thread_id, run_id=request.run_id, agent_name=request.agent,
            state=request.state, node_name=request.node_name or "",
            emit_state=requested_agent(data) is not None,
            action_names=_action_names(data))
        root_value = self._root_value(request.thread_id)
        # If the client goes away before the stream starts, the run never starts: free the
        # thread at once (after a normal answer this does nothing).
        abandon = BackgroundTask(run.abandon)
        if self.live:
            return EventStream(
                self._stream(run, translator, MultipartEncoder(self.plan, root_value)),
                media_type=CONTENT_TYPE, headers=_NO_CACHE, background=abandon)
        return EventStream(
            self._buffer(run, translator, BufferedEncoder(self.plan, root_value)),
            media_type=self.json_type, headers=_NO_CACHE, background=abandon)

    def _root_value(self, thread_id: str | None) -> dict[str, Any]:
        return {"__typename": "CopilotResponse", "threadId": thread_id or "",
                "runId": self.data.get("runId"), "extensions": None, "messages": [],
                "metaEvents": [], "status": None}

    async def _stream(self, run: Any, translator: Translator,
                      encoder: MultipartEncoder) -> AsyncIterator[bytes]:
        yield encoder.start()
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
                        yield chunk
            finally:
                await batches.aclose()
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
        yield tail

    async def _buffer(self, run: Any, translator: Translator,
                      encoder: BufferedEncoder) -> AsyncIterator[bytes]:
        batches = run.event_batches()
        try:
            async for batch in batches:
                encoder.feed(translator.feed(batch))
        finally:
            await batches.aclose()
        if not encoder.finished:
            encoder.feed(translator.fail(unknown_failure("The run ended without a result.")))
        yield encoder.result()

    def _failed(self, thread_id: str | None, status: dict[str, Any]) -> Response:
        """A response that ends at once with ``status`` (no run happened)."""
        root_value = self._root_value(thread_id)
        translator_ops: list[tuple[Any, ...]] = [(OP_DONE, status)]
        if self.live:
            encoder = MultipartEncoder(self.plan, root_value)
            body = encoder.start() + encoder.encode(translator_ops)
            return Response(body, media_type=CONTENT_TYPE, headers=_NO_CACHE)
        buffered = BufferedEncoder(self.plan, root_value)
        buffered.feed(translator_ops)
        return Response(buffered.result(), media_type=self.json_type, headers=_NO_CACHE)

    def _json(self, payload: Any) -> Response:
        return _json(payload, 200, self.json_type)


def _action_names(data: Mapping[str, Any]) -> dict[str, str]:
    return action_names(data.get("messages") or ())
