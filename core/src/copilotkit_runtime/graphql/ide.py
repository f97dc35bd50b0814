"""GraphiQL on ``GET {base}`` for browsers.

A browser's navigation asks for ``text/html``; CopilotKit clients and scripts do not, and keep
the JSON description of the server. The page is strawberry's GraphiQL page: it queries the same
URL with ``POST``, so requests made from it go through the request middleware (add auth headers
in its headers editor) and the same limits. It loads GraphiQL and React from a public CDN
(unpkg.com), so the browser needs to reach it; the server itself fetches nothing.

GraphiQL lives on introspection: with ``[server] introspection`` off the page is refused too.
"""

from __future__ import annotations

from functools import cache

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from strawberry.http.ides import get_graphql_ide_html

GRAPHIQL_OFF = (
    "GraphiQL is not served here: GraphQL introspection is off ([server] introspection = false, "
    "or the server is bound to a non-loopback host). POST GraphQL documents to this URL."
)


def wants_html(headers: Headers) -> bool:
    """Whether the request is a browser's page load (``Accept`` names ``text/html``)."""
    return "text/html" in headers.get("accept", "").lower()


@cache
def _page() -> str:
    return get_graphql_ide_html("graphiql")


def graphiql_response(introspection: bool) -> Response:
    """The GraphiQL page, or a 404 saying why there is none."""
    if not introspection:
        return PlainTextResponse(GRAPHIQL_OFF, status_code=404)
    return HTMLResponse(_page(), headers={"cache-control": "no-cache"})
