"""Settings, read from the environment (prefix ARENA_) and an optional .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_personas_dir() -> Path:
    bundled = REPO_ROOT / "personas"
    return bundled if bundled.is_dir() else Path("personas")


class Settings(BaseSettings):
    """All configuration of the arena. Every field is ARENA_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="ARENA_", env_file=".env", extra="ignore")

    # Storage
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "ARENA_REDIS_URL")
    )
    data_dir: Path = Path(".arena")
    key_prefix: str = Field(default="arena", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    personas_dir: Path = Field(default_factory=_default_personas_dir)

    # Models
    default_model: str = "local:smollm2"
    default_judge: str = "local:smollm2"
    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "ARENA_OPENAI_API_KEY")
    )
    anthropic_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ANTHROPIC_API_KEY", "ARENA_ANTHROPIC_API_KEY"),
    )
    openai_base_url: str | None = None
    anthropic_base_url: str | None = None
    ollama_base_url: str = "http://localhost:11434/v1"
    compatible_base_url: str | None = None
    compatible_api_key: str | None = None
    local_model_path: Path | None = None
    local_n_ctx: int = 4096
    local_threads: int | None = None
    request_timeout: float = 120.0
    max_attempts: int = 4
    retry_max_delay: float = 30.0

    # Matches
    word_limit: int = 120
    default_rounds: int = 2

    # Service
    host: str = "127.0.0.1"
    port: int = 8000
    api_token: str | None = None
    worker_concurrency: int = 2
    queue_max: int = 100
    heartbeat_seconds: float = 5.0
    reclaim_idle_seconds: float = 30.0
    token_coalesce_ms: int = 50
    spectator_buffer: int = 1000


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
