from arena.errors import ModelError
from arena.models.retry import _EchoFilter, backoff_delay


def test_a_repeated_prefix_is_dropped_even_across_deltas() -> None:
    echo = _EchoFilter("Cats rule")
    assert echo.feed("Cats ") == ""
    assert echo.feed("rule the seas") == " the seas"
    assert echo.feed(" forever") == " forever"


def test_a_continuation_that_only_starts_like_the_prefix_is_released_whole() -> None:
    echo = _EchoFilter("Cats rule")
    assert echo.feed("Cats ") == ""
    assert echo.feed("are fine") == "Cats are fine"


def test_retry_after_wins_and_is_capped() -> None:
    error = ModelError("slow down", provider="t", status_code=429, retryable=True, retry_after=7)
    assert backoff_delay(1, error, max_delay=30) == 7
    assert backoff_delay(1, error, max_delay=2) == 2
    plain = ModelError("boom", provider="t", status_code=503, retryable=True)
    assert 0 < backoff_delay(3, plain, max_delay=30) <= 2.0
