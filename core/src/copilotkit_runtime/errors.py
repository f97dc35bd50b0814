"""Errors the runtime raises on purpose.

Every error carries a message written for the person who has to fix it: what went wrong, where,
and what to do. Protocol layers map them to their own wire shapes (GraphQL error codes, HTTP
statuses, RUN_ERROR events) via :attr:`CopilotKitRuntimeError.code`.
"""

from __future__ import annotations


class CopilotKitRuntimeError(Exception):
    """Base class of every error the runtime raises deliberately."""

    code: str = "RUNTIME_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(CopilotKitRuntimeError):
    """The configuration file or environment is invalid."""

    code = "CONFIG_ERROR"


class PluginError(CopilotKitRuntimeError):
    """A plugin failed to load, is missing, or conflicts with another plugin."""

    code = "PLUGIN_ERROR"


class UnknownTypeError(CopilotKitRuntimeError):
    """Config asked for a provider/store/guardrail type that no plugin registered."""

    code = "UNKNOWN_TYPE"


class AgentNotFoundError(CopilotKitRuntimeError):
    """A request named an agent that is not configured."""

    code = "AGENT_NOT_FOUND"

    def __init__(self, agent: str, available: list[str] | None = None) -> None:
        known = ", ".join(sorted(available or [])) or "none"
        super().__init__(f"Agent '{agent}' was not found. Available agents: {known}.")
        self.agent = agent


class ThreadBusyError(CopilotKitRuntimeError):
    """Another run holds the thread's run lock."""

    code = "THREAD_BUSY"

    def __init__(self, thread_id: str) -> None:
        super().__init__(
            f"Thread '{thread_id}' already has a run in progress. Wait for it to finish or stop it "
            "before starting another run on the same thread."
        )
        self.thread_id = thread_id


class ServerShuttingDownError(CopilotKitRuntimeError):
    """The server is shutting down and takes no new runs (clients retry on another instance
    or after the restart)."""

    code = "SERVER_SHUTTING_DOWN"

    def __init__(self) -> None:
        super().__init__("The server is shutting down and takes no new runs; retry shortly.")


class GuardrailBlockedError(CopilotKitRuntimeError):
    """An input guardrail refused the request."""

    code = "GUARDRAILS_VALIDATION_FAILED"

    def __init__(self, reason: str, guardrail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.guardrail = guardrail


class StoreError(CopilotKitRuntimeError):
    """The state store failed (unreachable, timed out, corrupted data)."""

    code = "STORE_ERROR"


class VersionConflictError(StoreError):
    """A compare-and-set write lost against a concurrent writer."""

    code = "VERSION_CONFLICT"


class InvalidRequestError(CopilotKitRuntimeError):
    """A request is malformed in a way the protocol layer could not catch."""

    code = "INVALID_REQUEST"


class TooManyMessagesError(InvalidRequestError):
    """A run request carries more messages than ``limits.max_messages``."""

    code = "TOO_MANY_MESSAGES"

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"The request has {count} messages, more than the limit of {limit} "
                         "(limits.max_messages).")
        self.count = count
        self.limit = limit


class UnauthorizedError(CopilotKitRuntimeError):
    """Request middleware refused the request (authentication failed)."""

    code = "UNAUTHORIZED"
    status_code = 401

    def __init__(self, message: str = "Unauthorized", status_code: int = 401) -> None:
        super().__init__(message)
        self.status_code = status_code


class ThreadNotFoundError(CopilotKitRuntimeError):
    """No thread with this id, or one that belongs to someone else: the two are answered the
    same way, so a thread's id is never confirmed to anyone but its owner."""

    code = "THREAD_NOT_FOUND"

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"Thread '{thread_id}' was not found.")
        self.thread_id = thread_id


class RunRefusedError(GuardrailBlockedError):
    """A run hook (``RunHook.before_run``) refused the run; clients see it as a blocked run
    (v1 ``GUARDRAILS_VALIDATION_FAILED``, v2 ``RUN_ERROR`` with code ``RUN_REFUSED``)."""

    code = "RUN_REFUSED"
