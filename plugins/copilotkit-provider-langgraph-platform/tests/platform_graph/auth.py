"""The test deployment's custom auth: every request needs ``x-api-key: <PLATFORM_TEST_KEY>``
(how a LangSmith deployment checks its API key), and the user is who ``x-tenant-user`` says
(a header the runtime forwards, as a deployment's custom auth would read a user's token)."""

from __future__ import annotations

import os

from langgraph_sdk import Auth

auth = Auth()


@auth.authenticate
async def authenticate(headers: dict[bytes, bytes]) -> dict[str, object]:
    expected = os.environ["PLATFORM_TEST_KEY"].encode()
    if headers.get(b"x-api-key") != expected:
        raise Auth.exceptions.HTTPException(status_code=401, detail="invalid API key")
    user = headers.get(b"x-tenant-user", b"anonymous").decode()
    return {"identity": user, "is_authenticated": True}
