"""Settings, read from the environment (prefix ARENA_) and an optional .env file."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
ORIGIN = re.compile(r"https?://[^/\s]+")


def package_folder(package: str) -> Path | None:
    """The folder of a data package installed with the arena (arena.frontend, arena.personas_data:
    see pyproject.toml), wherever the arena is installed; None if it is missing."""
    try:
        folder = files(package)
    except ModuleNotFoundError:
        return None
    return folder if isinstance(folder, Path) and folder.is_dir() else None


def _default_personas_dir() -> Path:
    return package_folder("arena.personas_data") or Path("personas")


class Settings(BaseSettings):
    """All configuration of the arena. Every field is ARENA_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="ARENA_", env_file=".env", extra="ignore")

    # Storage
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "ARENA_REDIS_URL")
    )
    # REDIS_URL names any node of a Redis Cluster: the store uses redis-py's cluster client
    redis_cluster: bool = False
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
    # model adapters one process keeps (an LRU: the least recently used is closed beyond it)
    model_cache: int = Field(default=64, ge=1)
    max_attempts: int = 4
    retry_max_delay: float = 30.0

    # Matches
    word_limit: int = 120
    # judge every turn a second time with the speakers' positions swapped (position bias; docs:
    # Judge bias controls); a match or tournament body's judge_swap overrides it
    judge_swap: bool = False
    # the largest persona file (card JSON, PNG or CHARX, lorebook, YAML, Modelfile) an import
    # accepts, in bytes: cards with art are commonly 1-5 MB. It also caps what one CHARX may
    # unpack to (its card.json, and its assets together), so a saved persona's assets
    persona_file_max_bytes: int = Field(default=16_000_000, ge=1)
    default_rounds: int = 2

    # Service
    host: str = "127.0.0.1"
    port: int = 8000
    api_token: str | None = None
    # the largest request body, in bytes (a 413 beyond it); a persona import has its own limit,
    # 4 x persona_file_max_bytes (arena/api/limits.py)
    max_body_bytes: int = Field(default=2**20, ge=1)
    worker_concurrency: int = 2
    queue_max: int = 100
    heartbeat_seconds: float = 5.0
    reclaim_idle_seconds: float = 30.0
    max_deliveries: int = Field(default=5, ge=1)
    token_coalesce_ms: int = 50
    spectator_buffer: int = 1000

    # A public deployment (docs/operations.md, "Deploying publicly")
    # Strict-Transport-Security's max-age, in seconds, on every response: set it only when the
    # site is served over HTTPS alone (browsers then refuse plain HTTP for that long); 0: not sent
    hsts_seconds: int = Field(default=0, ge=0)
    # origins (scheme://host[:port]) whose pages may call the API from the browser (CORS), e.g.
    # ["https://blog.example.org"]; empty: none, the page and the API share one origin
    cors_origins: list[str] = Field(default_factory=list)
    # responses of at least this many bytes are gzipped for clients that accept it (JSON, HTML,
    # JS, CSS, exports; never images or WebSocket frames); 0: never
    gzip_min_bytes: int = Field(default=1024, ge=0)

    # Spectators, per API node
    # WebSocket spectators one node serves; more are closed with 1013 (try again later). Sized for
    # a 2-core node: 5,000 spectators of one match all get every event there (README, Benchmarks),
    # and 20% headroom beyond that still degrades gently rather than collapsing.
    max_spectators: int = Field(default=6000, ge=0)
    # WebSocket spectators one client address may hold on a node (a room behind one address
    # fits); more are closed with 1013, so that one client cannot take every slot
    max_spectators_per_ip: int = Field(default=100, ge=1)
    # reverse proxies whose X-Forwarded-For is believed (addresses or networks, e.g.
    # ["10.0.0.0/8"]); empty: the connection's peer is the client (arena/api/client.py)
    trusted_proxies: list[str] = Field(default_factory=list)
    # move the heap out of the garbage collector's full collections each time this many more
    # spectators are connected, so that a growing crowd does not stall the node
    # (arena/api/ws/heap.py); 0: leave the collector alone
    gc_freeze_step: int = Field(default=500, ge=0)
    # seconds one send to a spectator may block (it stopped reading) before it is evicted (4000)
    spectator_send_timeout: float = Field(default=10.0, gt=0)
    # bytes of one match's events kept in memory per node, for joiners and live fan-out; older
    # events are read from Redis by the joiners that need them
    spectator_window_bytes: int = Field(default=8 * 2**20, ge=1)
    # finished matches whose events stay in memory, so that a crowd replaying one reads it once
    spectator_cache_matches: int = Field(default=32, ge=0)

    # Crowd votes on turns (arena.crowd.votes; README "Crowd votes"): "off" hides the vote routes
    votes: Literal["on", "off"] = "on"
    votes_min: int = Field(default=3, ge=1)
    # signs the voter-id cookie and keys the IP hashes; unset: generated once into
    # data_dir/votes_secret, shared by the processes of one machine (Redis keeps only a
    # fingerprint): API nodes on several machines need this set, to one value
    votes_secret: str | None = None
    votes_per_ip: int = Field(default=20, ge=1)  # distinct voters from one IP on one turn
    votes_rate: int = Field(default=30, ge=1)  # votes per client per minute (per IP: 10x)
    # new voter identities (cookies) one address may be given per hour: a room of spectators
    # behind one address fits; a script minting an identity per vote does not
    votes_new_voters_per_ip: int = Field(default=60, ge=1)
    # distinct addresses a turn's votes must come from before the crowd's label counts as a
    # gold label (export, judge agreement); each address counts once
    votes_min_ips: int = Field(default=3, ge=1)

    # The human challenger's seat (docs/matches.md, "Take the challenger's seat")
    # the fewest seconds a match may give the seat per turn (tests lower it to 1)
    seat_min_seconds: int = Field(default=20, ge=1, le=600)
    seat_rate: int = Field(default=10, ge=1)  # turns sent per seat per minute
    seat_ip_rate: int = Field(default=30, ge=1)  # turns sent per address per minute
    # a seat's typing indicator reaches spectators at most once per this many seconds
    seat_typing_seconds: float = Field(default=3.0, gt=0)

    # Retention (docs/operations.md, "Retention and archive")
    # seconds after a match ends before the janitor compacts it (its token events dropped, the
    # rest stored compressed): live spectators read the stream until then
    compact_after_seconds: float = Field(default=60.0, ge=0)
    # days a finished match stays in Redis; once a day the janitor archives older ones to
    # Parquet under archive_dir and removes them. Unset: finished matches are kept forever
    retention_days: float | None = Field(default=None, gt=0)
    archive_dir: Path | None = None
    # retention without archive_dir deletes matches without writing them anywhere: only if true
    retention_prune_without_archive: bool = False

    # Redis connection pools (per process); a command waits up to redis_pool_timeout seconds for
    # a free connection rather than failing at once
    # the worker and the HTTP API: match writes, leases, the queue, reads of records
    redis_pool_size: int = Field(default=64, ge=2)
    # spectators only: one blocking read per match followed on this node, plus joiners' reads
    spectator_pool_size: int = Field(default=256, ge=2)
    redis_pool_timeout: float = Field(default=10.0, gt=0)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port], such as "
                    "https://blog.example.org, with no path or trailing slash (or * for any)"
                )
        return origins


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
