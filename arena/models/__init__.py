"""Model providers behind one protocol. Pick one by name: `provider:model`."""

from arena.models.base import (
    ChatMessage,
    ChatModel,
    Completion,
    GenerationRequest,
    StreamItem,
    StructuredResult,
    TextDelta,
)
from arena.models.registry import get_model, parse_model_name, require_available

__all__ = [
    "ChatMessage",
    "ChatModel",
    "Completion",
    "GenerationRequest",
    "StreamItem",
    "StructuredResult",
    "TextDelta",
    "get_model",
    "parse_model_name",
    "require_available",
]
