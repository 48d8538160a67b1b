"""Bearer-token check for writes. Reads and spectating stay public."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from arena.api.deps import SettingsDep

# auto_error=False: without a configured token, a request with no header is fine.
_bearer = HTTPBearer(auto_error=False, description="ARENA_API_TOKEN, when the server sets one")


def require_writer(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected = settings.api_token
    if not expected:
        return
    given = credentials.credentials if credentials is not None else ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="a valid bearer token is required: send Authorization: Bearer <ARENA_API_TOKEN>",
            headers={"WWW-Authenticate": 'Bearer realm="arena"'},
        )


WriterDep = Depends(require_writer)
