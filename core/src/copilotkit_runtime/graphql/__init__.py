"""GraphQL "v1" protocol: the contract of @copilotkit/runtime 1.10.6.

Modules, from the wire inwards:

* :mod:`.http`: the transport (:class:`GraphQLService`, built once per mounted runtime), run
  start, streaming, disconnects;
* :mod:`.documents`: parse + validate with limits, cached by query text;
* :mod:`.plan`: the client's selection set as a projection plan;
* :mod:`.encoder`: ops → multipart incremental parts (or one JSON document);
* :mod:`.translate`: AG-UI events → v1 output objects (pure);
* :mod:`.inputs` / :mod:`.convert`: GraphQL input → ``RunRequest``, message conversions (pure);
* :mod:`.schema`: the schema, code-first with strawberry, and the query resolvers.
"""

from __future__ import annotations

from .http import GraphQLService
from .schema import get_schema, schema_sdl

__all__ = ["GraphQLService", "get_schema", "schema_sdl"]
