"""The project's own error types. Every ArenaError message is written to be shown to a user."""

from __future__ import annotations


class ArenaError(Exception):
    """An error whose message is shown to the user as is."""


class ConfigError(ArenaError):
    """Bad or missing configuration (a setting, a file, a model name)."""


class NeedsKeyError(ConfigError):
    """A model needs an API key that is not set."""

    def __init__(self, env_var: str, model: str) -> None:
        self.env_var = env_var
        self.model = model
        super().__init__(
            f"{env_var} is not set: export it to use {model}, or pick a local model (local:smollm2)"
        )


class UnknownModelError(ConfigError):
    """A model name whose provider is not known."""


class PersonaFileError(ConfigError):
    """A persona or motions file that does not validate; names the file and what is wrong."""


class NotFoundError(ArenaError):
    """A persona, motion or match that does not exist."""


class ModelError(ArenaError):
    """A model provider failed. Carries the HTTP status (if any), the body, and whether to retry."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        body: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.status_code = status_code
        self.body = body
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(message)

    def __str__(self) -> str:
        status = f" (HTTP {self.status_code})" if self.status_code is not None else ""
        return f"{self.provider}{status}: {self.args[0]}"


class StructuredOutputError(ArenaError):
    """A model's structured output did not validate against the requested schema."""

    def __init__(self, message: str, raw: str) -> None:
        self.raw = raw
        super().__init__(message)


class MatchCancelled(ArenaError):
    """The match was cancelled by a user."""


class CardError(ArenaError):
    """A file that cannot be imported; the message names the file and the problem."""

    def __init__(self, filename: str, problem: str) -> None:
        self.filename = filename
        self.problem = problem
        super().__init__(f"{filename}: {problem}")
