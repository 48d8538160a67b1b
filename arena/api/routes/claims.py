"""The factual claims calibration matches are played on (personas/claims.yaml)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from arena.api.deps import SettingsDep
from arena.personas.library import load_claims

router = APIRouter(prefix="/api", tags=["personas"])


class ClaimPublic(BaseModel):
    id: str
    claim: str
    truth: bool
    domain: str
    source: str


@router.get("/claims")
async def list_claims(settings: SettingsDep) -> list[ClaimPublic]:
    """Every claim with its truth value, domain and source (the evidence text stays out of the
    list: it is what an evidence challenger presents)."""
    claims = load_claims(settings.personas_dir)
    return [ClaimPublic.model_validate(c.model_dump()) for c in claims.values()]
