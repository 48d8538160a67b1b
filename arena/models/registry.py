"""Parse `provider:model` names once, and build adapters by importing their module lazily."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Protocol

from arena.config import Settings
from arena.domain.limits import MAX_MODEL_NAME
from arena.errors import ConfigError, NeedsKeyError, UnknownModelError
from arena.models.base import ChatModel


class _Factory(Protocol):
    def __call__(self, provider: str, model: str, settings: Settings) -> ChatModel: ...


@dataclass(frozen=True)
class ProviderInfo:
    module: str
    package: str  # the pip package to install if the module's SDK is missing
    key_env_var: str | None = None
    description: str = ""


PROVIDERS: dict[str, ProviderInfo] = {
    "local": ProviderInfo("arena.models.local", "llama-cpp-python", None, "embedded llama.cpp"),
    "openai": ProviderInfo("arena.models.openai", "openai", "OPENAI_API_KEY", "OpenAI API"),
    "anthropic": ProviderInfo(
        "arena.models.anthropic", "anthropic", "ANTHROPIC_API_KEY", "Anthropic API"
    ),
    "ollama": ProviderInfo("arena.models.openai", "openai", None, "Ollama (OpenAI-compatible)"),
    "openai-compatible": ProviderInfo(
        "arena.models.openai", "openai", None, "any OpenAI-compatible server"
    ),
}

# A model name is `provider:model` in letters, digits and `:._-/@+` (enough for Ollama tags,
# Hugging Face repos and dated snapshots), at most 200 characters: a name is stored in every
# match and shown on every page, and it never needs spaces, quotes or control characters.
MODEL_NAME_CHARS = "letters, digits and :._-/@+"
MODEL_NAME_PATTERN = r"^[A-Za-z0-9:._/@+-]+$"
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)


def check_model_name(name: str) -> None:
    """Raise UnknownModelError unless `name` is short and in the safe character set."""
    if len(name) > MAX_MODEL_NAME:
        raise UnknownModelError(
            f"model name is {len(name)} characters long; the limit is {MAX_MODEL_NAME}"
        )
    if not _MODEL_NAME.fullmatch(name):
        bad = sorted({c for c in name if not _MODEL_NAME.fullmatch(c)})
        shown = ", ".join(ascii(c) for c in bad[:5])
        raise UnknownModelError(
            f"model name {name!a} has characters outside {MODEL_NAME_CHARS}: {shown}"
        )


def parse_model_name(name: str) -> tuple[str, str]:
    """Split `provider:model`; raise UnknownModelError naming the known providers."""
    check_model_name(name)
    provider, sep, model = name.partition(":")
    if not sep or not provider or not model:
        raise UnknownModelError(
            f"model {name!r} is not of the form provider:model "
            f"(for example local:smollm2, openai:gpt-4o-mini)"
        )
    if provider not in PROVIDERS:
        known = ", ".join(sorted(PROVIDERS))
        raise UnknownModelError(f"unknown model provider {provider!r} in {name!r}; known: {known}")
    return provider, model


def _has_key(info: ProviderInfo, settings: Settings) -> bool:
    if info.key_env_var == "OPENAI_API_KEY":
        return bool(settings.openai_api_key)
    if info.key_env_var == "ANTHROPIC_API_KEY":
        return bool(settings.anthropic_api_key)
    return True


def require_available(name: str, settings: Settings) -> None:
    """Fail before a match starts if the model cannot be used: bad name, missing key or URL."""
    provider, model = parse_model_name(name)
    info = PROVIDERS[provider]
    if provider == "local" and settings.local_model_path is None:
        from arena.models.local import KNOWN_MODELS  # no SDK import: llama_cpp loads on use

        if model not in KNOWN_MODELS:
            known = ", ".join(f"local:{m}" for m in KNOWN_MODELS)
            raise UnknownModelError(
                f"unknown local model {model!r}; known: {known} "
                "(or set ARENA_LOCAL_MODEL_PATH to a GGUF file)"
            )
    if info.key_env_var and not _has_key(info, settings):
        raise NeedsKeyError(info.key_env_var, name)
    if provider == "openai-compatible" and not settings.compatible_base_url:
        raise ConfigError(
            f"ARENA_COMPATIBLE_BASE_URL is not set: set it to the server's /v1 URL to use {name}"
        )


def available_providers(settings: Settings) -> list[str]:
    """Providers a user can pick right now (keys and URLs configured)."""
    ready = []
    for provider, info in PROVIDERS.items():
        if info.key_env_var and not _has_key(info, settings):
            continue
        if provider == "openai-compatible" and not settings.compatible_base_url:
            continue
        ready.append(provider)
    return ready


def build_model(provider: str, model: str, settings: Settings) -> ChatModel:
    """A new adapter for `provider:model` (arena.models.cache.Models keeps them)."""
    info = PROVIDERS[provider]
    try:
        module = importlib.import_module(info.module)
    except ImportError as exc:
        raise ConfigError(
            f"provider {provider!r} needs the {info.package!r} package: "
            f"pip install {info.package} ({exc})"
        ) from exc
    factory: _Factory = module.create
    return factory(provider, model, settings)
