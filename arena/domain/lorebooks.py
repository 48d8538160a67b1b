"""A persona's lorebook (Character Card V3 `character_book`) as a value: entries of background
knowledge, each inserted into the debater's context when its keys come up (the matching is
arena.personas.lorebook's). Fields the arena does not use are kept for export: unknown ones too,
as the spec asks, and every `extensions` object unchanged."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from arena.domain.limits import (
    MAX_LORE_CONTENT,
    MAX_LORE_ENTRIES,
    MAX_LORE_KEY,
    MAX_LORE_KEYS,
    MAX_LORE_NAME,
    MAX_LORE_TEXT,
)

Key = Annotated[str, StringConstraints(max_length=MAX_LORE_KEY)]
Label = Annotated[str, StringConstraints(max_length=MAX_LORE_NAME)]


class LoreEntry(BaseModel):
    """One entry: its keys, the text it inserts (which may start with @@decorator lines) and how
    it matches. `None` means the card did not say (the arena's default applies)."""

    model_config = ConfigDict(extra="allow")

    keys: list[Key] = Field(default_factory=list, max_length=MAX_LORE_KEYS)
    content: str = Field(default="", max_length=MAX_LORE_CONTENT)
    extensions: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    insertion_order: float = 100
    use_regex: bool = False
    case_sensitive: bool | None = None
    constant: bool | None = None
    name: Label | None = None
    priority: float | None = None
    id: int | str | None = None
    comment: Label | None = None
    selective: bool | None = None
    secondary_keys: list[Key] | None = Field(default=None, max_length=MAX_LORE_KEYS)
    position: Literal["before_char", "after_char"] | None = None

    @field_validator("insertion_order", "priority", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        # some tools write numbers as text ("100")
        if isinstance(value, str) and value.strip():
            return float(value)
        return value

    def label(self, index: int) -> str:
        """How the entry is named on the match page: its name, comment, first key, or number."""
        for text in (self.name, self.comment, *self.keys):
            if text and text.strip():
                return text.strip()[:80]
        return f"entry {index + 1}"


class Lorebook(BaseModel):
    """A lorebook: its entries and the book-wide settings (scan depth in turns, token budget,
    recursive scanning)."""

    model_config = ConfigDict(extra="allow")

    name: Label | None = None
    description: str | None = Field(default=None, max_length=MAX_LORE_CONTENT)
    scan_depth: int | None = Field(default=None, ge=0)
    token_budget: int | None = Field(default=None, ge=0)
    recursive_scanning: bool | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)
    entries: list[LoreEntry] = Field(default_factory=list, max_length=MAX_LORE_ENTRIES)

    @field_validator("scan_depth", "token_budget", mode="before")
    @classmethod
    def _whole(cls, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @model_validator(mode="after")
    def _total(self) -> Lorebook:
        total = sum(len(e.content) + sum(map(len, e.keys)) for e in self.entries)
        if total > MAX_LORE_TEXT:
            raise ValueError(
                f"the lorebook holds {total:,} characters of keys and content; at most "
                f"{MAX_LORE_TEXT:,}"
            )
        return self

    def card_object(self) -> dict[str, Any]:
        """The book as a card's `character_book`: unset optional fields left out (JSON has no
        undefined, and the spec's readers treat null as a wrong type), everything else as kept."""
        book = _set(self.model_dump(exclude={"entries"}))
        book["entries"] = [_set(entry.model_dump()) for entry in self.entries]
        return book


def _set(fields: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in fields.items() if v is not None}
    if isinstance(out.get("insertion_order"), float) and out["insertion_order"].is_integer():
        out["insertion_order"] = int(out["insertion_order"])
    if isinstance(out.get("priority"), float) and out["priority"].is_integer():
        out["priority"] = int(out["priority"])
    return out
