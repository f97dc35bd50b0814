"""The v1 schema, defined code-first with strawberry, and the query resolvers.

The types below are the GraphQL contract of ``@copilotkit/runtime`` 1.10.6;
``tests/graphql/test_schema.py`` checks that the printed schema equals the reference SDL in both
directions. Strawberry is used where it serves:

* the schema (enums, inputs, interfaces, unions, scalars, deprecations) is ordinary Python;
* ``hello``, ``availableAgents`` and ``loadAgentState`` are strawberry resolvers, run by
  graphql-core's executor on the strawberry schema's graphql-core schema
  (:func:`get_schema`, i.e. ``Schema._schema``) after our own cached parse and validation
  (:mod:`.documents`), so the document cache and the limits apply to them too.

``generateCopilotResponse`` is never executed field by field: :mod:`.http` plans the client's
selection set on the same graphql-core schema once (:mod:`.plan`) and :mod:`.encoder` projects
the run's output onto it. A resolver per streamed chunk would cost far more per token, and
strawberry's own ``@defer``/``@stream`` output uses the newer incremental format that the
1.10.6 client mis-merges (docs/graphql.md).
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, NewType

import strawberry
from graphql import GraphQLError, GraphQLScalarType, GraphQLSchema, ValueNode
from graphql.language import (
    BooleanValueNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    StringValueNode,
    VariableNode,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info
from strawberry.types.scalar import ScalarDefinition

from ..errors import AgentNotFoundError
from ..threads import owner_of
from .convert import snapshot_messages_to_json
from .errors import agent_not_found_error

DEPRECATED_SCOPE = "This field will be removed in a future version"
ECMA_404 = "http://www.ecma-international.org/publications/files/ECMA-ST/ECMA-404.pdf"

# -- scalars ---------------------------------------------------------------------------------

DateTimeISO = NewType("DateTimeISO", str)
JSON = NewType("JSON", object)
JSONObject = NewType("JSONObject", dict)


def _parse_datetime(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError("DateTimeISO must be an ISO 8601 date-time string.")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise GraphQLError(
            f"DateTimeISO cannot represent '{value[:60]}': not an ISO 8601 date-time."
        ) from None
    return value


def _serialize_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _literal_to_python(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    if isinstance(node, StringValueNode | BooleanValueNode):
        return node.value
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, FloatValueNode):
        return float(node.value)
    if isinstance(node, NullValueNode):
        return None
    if isinstance(node, ListValueNode):
        return [_literal_to_python(v, variables) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _literal_to_python(f.value, variables) for f in node.fields}
    if isinstance(node, VariableNode):
        return (variables or {}).get(node.name.value)
    raise GraphQLError("Unsupported JSON literal.")


def _parse_json_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GraphQLError(f"JSONObject must be a JSON object, got {type(value).__name__}.")
    return value


def _identity(value: Any) -> Any:
    return value


def _datetime_literal(node: ValueNode, _variables: Any = None) -> str:
    return _parse_datetime(_literal_to_python(node))


def _json_object_literal(node: ValueNode, _variables: Any = None) -> dict[str, Any]:
    return _parse_json_object(_literal_to_python(node))


SCALARS: dict[object, ScalarDefinition] = {
    DateTimeISO: strawberry.scalar(
        name="DateTimeISO",
        description="An ISO 8601 date-time string in UTC, such as 2007-12-03T10:15:30.000Z.",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
        parse_literal=_datetime_literal,
    ),
    JSON: strawberry.scalar(
        name="JSON",
        description="Any JSON value (ECMA-404).",
        specified_by_url=ECMA_404,
        serialize=_identity,
        parse_value=_identity,
        parse_literal=_literal_to_python,
    ),
    JSONObject: strawberry.scalar(
        name="JSONObject",
        description="A JSON object (ECMA-404).",
        specified_by_url=ECMA_404,
        serialize=_parse_json_object,
        parse_value=_parse_json_object,
        parse_literal=_json_object_literal,
    ),
}

# -- enums -------------------------------------------------------------------------------------
# StrEnum: an input value coerced by the schema compares and serializes as its plain string.


@strawberry.enum
class ResponseStatusCode(StrEnum):
    Pending = "Pending"
    Success = "Success"
    Failed = "Failed"


@strawberry.enum
class FailedResponseStatusReason(StrEnum):
    GUARDRAILS_VALIDATION_FAILED = "GUARDRAILS_VALIDATION_FAILED"
    MESSAGE_STREAM_INTERRUPTED = "MESSAGE_STREAM_INTERRUPTED"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"


@strawberry.enum
class MessageStatusCode(StrEnum):
    Pending = "Pending"
    Success = "Success"
    Failed = "Failed"


@strawberry.enum(description="The role of the message")
class MessageRole(StrEnum):
    user = "user"
    assistant = "assistant"
    system = "system"
    tool = "tool"
    developer = "developer"


@strawberry.enum(description="Meta event types")
class MetaEventName(StrEnum):
    LangGraphInterruptEvent = "LangGraphInterruptEvent"
    CopilotKitLangGraphInterruptEvent = "CopilotKitLangGraphInterruptEvent"


@strawberry.enum(description="The type of Copilot request")
class CopilotRequestType(StrEnum):
    Chat = "Chat"
    Task = "Task"
    TextareaCompletion = "TextareaCompletion"
    TextareaPopover = "TextareaPopover"
    Suggestion = "Suggestion"


@strawberry.enum(description="The availability of the frontend action")
class ActionInputAvailability(StrEnum):
    disabled = "disabled"
    enabled = "enabled"
    remote = "remote"


# -- query results -----------------------------------------------------------------------------


@strawberry.type
class Agent:
    id: str
    name: str
    description: str


@strawberry.type
class AgentsResponse:
    agents: list[Agent]


@strawberry.type
class LoadAgentStateResponse:
    thread_id: str
    thread_exists: bool
    state: str = strawberry.field(description="The thread's state as a JSON string.")
    messages: str = strawberry.field(description="The thread's messages as a JSON string.")


# -- the response of generateCopilotResponse ---------------------------------------------------
# These types are planned and encoded (plan.py, encoder.py), never resolved.


@strawberry.interface
class BaseResponseStatus:
    code: ResponseStatusCode


@strawberry.type
class PendingResponseStatus(BaseResponseStatus):
    pass


@strawberry.type
class SuccessResponseStatus(BaseResponseStatus):
    pass


@strawberry.type
class FailedResponseStatus(BaseResponseStatus):
    reason: FailedResponseStatusReason
    details: JSON | None


ResponseStatus = Annotated[
    PendingResponseStatus | SuccessResponseStatus | FailedResponseStatus,
    strawberry.union("ResponseStatus"),
]


@strawberry.type
class PendingMessageStatus:
    code: MessageStatusCode


@strawberry.type
class SuccessMessageStatus:
    code: MessageStatusCode


@strawberry.type
class FailedMessageStatus:
    code: MessageStatusCode
    reason: str


MessageStatus = Annotated[
    PendingMessageStatus | SuccessMessageStatus | FailedMessageStatus,
    strawberry.union("MessageStatus"),
]


@strawberry.interface
class BaseMessageOutput:
    id: str
    created_at: DateTimeISO
    status: MessageStatus


@strawberry.type
class TextMessageOutput(BaseMessageOutput):
    role: MessageRole
    content: list[str]
    parent_message_id: str | None


@strawberry.type
class ActionExecutionMessageOutput(BaseMessageOutput):
    name: str
    scope: str | None = strawberry.field(deprecation_reason=DEPRECATED_SCOPE)
    arguments: list[str]
    parent_message_id: str | None


@strawberry.type
class ResultMessageOutput(BaseMessageOutput):
    action_execution_id: str
    action_name: str
    result: str


@strawberry.type
class AgentStateMessageOutput(BaseMessageOutput):
    thread_id: str
    agent_name: str
    node_name: str
    run_id: str
    active: bool
    role: MessageRole
    state: str = strawberry.field(description="The agent's state as a JSON string.")
    running: bool


@strawberry.type
class ImageMessageOutput(BaseMessageOutput):
    format: str
    bytes: str
    role: MessageRole
    parent_message_id: str | None


@strawberry.interface
class BaseMetaEvent:
    type: str
    name: MetaEventName


@strawberry.type
class LangGraphInterruptEvent(BaseMetaEvent):
    value: str
    response: str | None


@strawberry.type
class CopilotKitLangGraphInterruptEventData:
    value: str
    messages: list[BaseMessageOutput]


@strawberry.type
class CopilotKitLangGraphInterruptEvent(BaseMetaEvent):
    data: CopilotKitLangGraphInterruptEventData
    response: str | None


@strawberry.type(name="OpenAIApiAssistantAPIResponse")
class OpenAIApiAssistantAPIResponse:
    run_id: str | None
    thread_id: str | None


@strawberry.type
class ExtensionsResponse:
    openai_assistant_api: OpenAIApiAssistantAPIResponse | None = strawberry.field(
        name="openaiAssistantAPI"
    )


@strawberry.type
class CopilotResponse:
    thread_id: str
    status: ResponseStatus
    run_id: str | None
    messages: list[BaseMessageOutput]
    extensions: ExtensionsResponse | None
    meta_events: list[BaseMetaEvent] | None


# -- inputs --------------------------------------------------------------------------------------
# Nullable input fields carry no default (the reference prints none): they are declared without
# one, which strawberry prints as a plain nullable field. graphql-core coerces these inputs into
# dicts keyed by their GraphQL names (inputs.py reads them); only LoadAgentStateInput is built
# as a Python object, by strawberry, for its resolver.


@strawberry.input
class LoadAgentStateInput:
    thread_id: str
    agent_name: str


@strawberry.input
class GenerateCopilotResponseMetadataInput:
    request_type: CopilotRequestType | None


@strawberry.input
class TextMessageInput:
    content: str
    parent_message_id: str | None
    role: MessageRole


@strawberry.input
class ActionExecutionMessageInput:
    name: str
    arguments: str
    parent_message_id: str | None
    scope: str | None = strawberry.field(deprecation_reason=DEPRECATED_SCOPE)


@strawberry.input
class ResultMessageInput:
    action_execution_id: str
    action_name: str
    parent_message_id: str | None
    result: str


@strawberry.input
class AgentStateMessageInput:
    thread_id: str
    agent_name: str
    role: MessageRole
    state: str
    running: bool
    node_name: str
    run_id: str
    active: bool


@strawberry.input
class ImageMessageInput:
    format: str
    bytes: str
    parent_message_id: str | None
    role: MessageRole


@strawberry.input
class MessageInput:
    id: str
    created_at: DateTimeISO
    text_message: TextMessageInput | None
    action_execution_message: ActionExecutionMessageInput | None
    result_message: ResultMessageInput | None
    agent_state_message: AgentStateMessageInput | None
    image_message: ImageMessageInput | None


@strawberry.input
class ActionInput:
    name: str
    description: str
    json_schema: str = strawberry.field(
        description="The action's parameters as a JSON schema string."
    )
    available: ActionInputAvailability | None


@strawberry.input
class FrontendInput:
    to_deprecate_full_context: str | None = strawberry.field(name="toDeprecate_fullContext")
    actions: list[ActionInput]
    url: str | None


@strawberry.input
class GuardrailsRuleInput:
    allow_list: list[str] | None = strawberry.field(default_factory=list)
    deny_list: list[str] | None = strawberry.field(default_factory=list)


@strawberry.input
class GuardrailsInput:
    input_validation_rules: GuardrailsRuleInput


@strawberry.input
class CloudInput:
    guardrails: GuardrailsInput | None


@strawberry.input
class ForwardedParametersInput:
    model: str | None
    max_tokens: float | None
    stop: list[str] | None
    tool_choice: str | None
    tool_choice_function_name: str | None
    temperature: float | None


@strawberry.input
class AgentSessionInput:
    agent_name: str
    thread_id: str | None
    node_name: str | None


@strawberry.input
class AgentStateInput:
    agent_name: str
    state: str
    config: str | None


@strawberry.input(name="OpenAIApiAssistantAPIInput")
class OpenAIApiAssistantAPIInput:
    run_id: str | None
    thread_id: str | None


@strawberry.input
class ExtensionsInput:
    openai_assistant_api: OpenAIApiAssistantAPIInput | None = strawberry.field(
        name="openaiAssistantAPI"
    )


@strawberry.input
class MetaEventInput:
    name: MetaEventName
    value: str
    response: str | None
    messages: list[MessageInput] | None


@strawberry.input
class CopilotContextInput:
    description: str
    value: str


@strawberry.input
class GenerateCopilotResponseInput:
    metadata: GenerateCopilotResponseMetadataInput
    thread_id: str | None
    run_id: str | None
    messages: list[MessageInput]
    frontend: FrontendInput
    cloud: CloudInput | None
    forwarded_parameters: ForwardedParametersInput | None
    agent_session: AgentSessionInput | None
    agent_state: AgentStateInput | None
    agent_states: list[AgentStateInput] | None
    extensions: ExtensionsInput | None
    meta_events: list[MetaEventInput] | None
    context: list[CopilotContextInput] | None


# -- root types ----------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "Hello World"

    @strawberry.field
    def available_agents(self, info: Info) -> AgentsResponse:
        runtime = info.context["runtime"]
        return AgentsResponse(
            agents=[
                Agent(id=a.name, name=a.name, description=a.description or "")
                for a in runtime.engine.agent_infos()
            ]
        )

    @strawberry.field
    async def load_agent_state(
        self, info: Info, data: LoadAgentStateInput
    ) -> LoadAgentStateResponse:
        runtime = info.context["runtime"]
        try:
            # Another user's thread reads as one that does not exist (its id is not confirmed).
            owner = owner_of(getattr(info.context.get("request"), "principal", None))
            snapshot = await runtime.engine.load_thread(data.agent_name, data.thread_id, owner)
        except AgentNotFoundError as exc:
            raise agent_not_found_error(exc) from None
        if not snapshot.exists:
            return LoadAgentStateResponse(
                thread_id=data.thread_id, thread_exists=False, state="{}", messages="[]"
            )
        state = {k: v for k, v in (snapshot.state or {}).items() if k != "messages"}
        messages = snapshot_messages_to_json(snapshot.messages)
        return LoadAgentStateResponse(
            thread_id=data.thread_id,
            thread_exists=True,
            state=json.dumps(state, separators=(",", ":")),
            messages=json.dumps(messages, separators=(",", ":")),
        )


@strawberry.type
class Mutation:
    @strawberry.field
    def generate_copilot_response(
        self,
        *,
        # UNSET: nullable with no default, as the reference prints it
        properties: JSONObject | None = strawberry.UNSET,
        data: GenerateCopilotResponseInput,
    ) -> CopilotResponse:
        # http.py answers this field with the planned projection; nothing executes it.
        raise GraphQLError("generateCopilotResponse is answered by the streaming encoder only.")


#: Types reachable only through an interface, listed so that they are in the schema.
IMPLEMENTATIONS = [
    PendingResponseStatus,
    SuccessResponseStatus,
    FailedResponseStatus,
    TextMessageOutput,
    ActionExecutionMessageOutput,
    ResultMessageOutput,
    AgentStateMessageOutput,
    ImageMessageOutput,
    LangGraphInterruptEvent,
    CopilotKitLangGraphInterruptEvent,
]


@cache
def get_strawberry_schema() -> strawberry.Schema:
    """The strawberry schema, built once per process (it holds no per-runtime state)."""
    schema = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=IMPLEMENTATIONS,
        # Declares @defer/@stream (the client sends them); strawberry never executes them here.
        config=StrawberryConfig(scalar_map=SCALARS, enable_experimental_incremental_execution=True),
    )
    _bind_scalars(schema._schema)
    return schema


def get_schema() -> GraphQLSchema:
    """The graphql-core schema under the strawberry one: what documents are validated, planned
    and executed against."""
    return get_strawberry_schema()._schema


def schema_sdl() -> str:
    """The SDL this server serves, as strawberry prints it."""
    return get_strawberry_schema().as_str()


def _bind_scalars(schema: GraphQLSchema) -> None:
    """graphql-core 3.3 reads the ``coerce_*`` functions, strawberry sets the legacy names: set
    both from the definitions above, so that variables and literals are checked alike."""
    for definition in SCALARS.values():
        scalar = schema.type_map[definition.name]
        assert isinstance(scalar, GraphQLScalarType)
        literal = definition.parse_literal
        assert definition.parse_value is not None and literal is not None
        functions = {
            "serialize": definition.serialize,
            "coerce_output_value": definition.serialize,
            "parse_value": definition.parse_value,
            "coerce_input_value": definition.parse_value,
            "coerce_input_literal": _literal_reader(literal),
            "parse_literal": _literal_reader(literal),
        }
        for attribute, function in functions.items():
            setattr(scalar, attribute, function)


def _literal_reader(parse_literal: Any) -> Any:
    # Literals reach a scalar with variables already substituted: the node alone is enough.
    def read(node: ValueNode, *_: Any) -> Any:
        return parse_literal(node)

    return read
