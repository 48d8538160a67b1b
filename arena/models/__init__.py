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
from arena.models.cache import ModelFactory, Models
from arena.models.registry import parse_model_name, require_available

__all__ = [
    "ChatMessage",
    "ChatModel",
    "Completion",
    "GenerationRequest",
    "ModelFactory",
    "Models",
    "StreamItem",
    "StructuredResult",
    "TextDelta",
    "parse_model_name",
    "require_available",
]
