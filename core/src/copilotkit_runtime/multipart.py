"""``multipart/form-data`` bodies parsed from bytes already read (bounded) by the pipeline.

Small on purpose: the runtime receives at most a file or two (``/transcribe``), so the
standard library's MIME parser is enough and no extra dependency is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP

__all__ = ["FormPart", "parse_form_data"]


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str = "application/octet-stream"

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def parse_form_data(body: bytes, content_type: str) -> dict[str, FormPart]:
    """The parts of a ``multipart/form-data`` body by field name (the first of each name).

    Raises ``ValueError`` when the content type has no boundary or the body has no parts.
    """
    if "boundary=" not in content_type.lower():
        raise ValueError("multipart/form-data without a boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("the body is not multipart/form-data")
    parts: dict[str, FormPart] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or name in parts:
            continue
        payload = part.get_payload(decode=True)
        parts[name] = FormPart(name=name, data=payload if isinstance(payload, bytes) else b"",
                               filename=part.get_filename(),
                               content_type=part.get_content_type())
    if not parts:
        raise ValueError("the multipart body has no named parts")
    return parts
