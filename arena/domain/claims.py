"""Factual claims whose truth is known: what a calibration match is about (personas/claims.yaml).

A claim is one declarative sentence, true or false; its evidence is a paragraph that settles it,
correct, which an evidence challenger presents; its source names a reference a reader can check
(never a URL: a name outlives an address)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from arena.domain.personas import Slug

Domain = Literal["misconception", "science", "history", "health", "numbers", "geography", "nature"]
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Slug
    claim: str = Field(min_length=10, max_length=300)
    truth: StrictBool
    evidence: str = Field(min_length=40, max_length=1200)
    source: str = Field(min_length=3, max_length=300)
    domain: Domain

    @field_validator("source", "evidence")
    @classmethod
    def _no_url(cls, value: str) -> str:
        if _URL.search(value):
            raise ValueError("name the reference; no URLs")
        return value
