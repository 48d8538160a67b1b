"""Prometheus metrics. Match, turn, token and judge-failure totals are the cluster's (read from
the store at scrape time); spectators, their rejections and failures and event lag are this
process's own."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from arena.api.loop_watch import LoopWatch
from arena.store import StoreCounters

LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    """The metrics this process owns. One registry per app, so that tests can build many apps."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.spectators = Gauge(
            "arena_spectators_connected",
            "WebSocket spectators connected to this process",
            registry=self.registry,
        )
        self.event_lag = Histogram(
            "arena_event_lag_seconds",
            "Time from an event's creation to its delivery to a live spectator",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.rejected = Counter(
            "arena_spectators_rejected",
            "WebSocket spectators turned away with 1013 because this process was full",
            registry=self.registry,
        )
        self.overflowed = Counter(
            "arena_spectators_overflowed",
            "WebSocket spectators closed with 4000: they fell behind or stopped reading",
            registry=self.registry,
        )
        self.errored = Counter(
            "arena_spectators_errored",
            "WebSocket spectators closed with 1011: the store or the server failed",
            registry=self.registry,
        )
        self.rejected_address = Counter(
            "arena_spectators_rejected_per_address",
            "WebSocket spectators turned away with 1013: their address held its share",
            registry=self.registry,
        )
        self.open = 0  # spectators connected now; the gauge mirrors it for scrapes
        self.by_address: dict[str, int] = {}  # spectators per client address (none at 0)
        self.loop = LoopWatch(self.registry)

    def admit(self, limit: int, address: str = "", per_address: int | None = None) -> bool:
        """Count a new spectator in, unless `limit` are already connected, or `per_address`
        from its address."""
        if self.open >= limit:
            self.rejected.inc()
            return False
        if per_address is not None and self.by_address.get(address, 0) >= per_address:
            self.rejected_address.inc()
            return False
        self.open += 1
        self.by_address[address] = self.by_address.get(address, 0) + 1
        self.spectators.inc()
        return True

    def leave(self, address: str = "") -> None:
        self.open -= 1
        left = self.by_address.get(address, 0) - 1
        if left > 0:
            self.by_address[address] = left
        else:
            self.by_address.pop(address, None)
        self.spectators.dec()

    def closed(self, code: int) -> None:
        if code == 4000:
            self.overflowed.inc()
        elif code == 1011:
            self.errored.inc()

    def render(self, counters: StoreCounters | None) -> bytes:
        self.loop.publish()
        store = CollectorRegistry()
        store.register(_StoreCollector(counters))
        return generate_latest(self.registry) + generate_latest(store)


class _StoreCollector(Collector):
    def __init__(self, counters: StoreCounters | None) -> None:
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("arena_store_up", "1 if Redis answered the last scrape")
        up.add_metric([], 0.0 if self.counters is None else 1.0)
        yield up
        c = self.counters
        if c is None:
            return
        matches = GaugeMetricFamily("arena_matches", "Matches by status", labels=["status"])
        for status, count in c.matches.items():
            matches.add_metric([status], float(count))
        yield matches
        yield CounterMetricFamily("arena_turns", "Debate turns completed", value=c.turns)
        tokens = CounterMetricFamily(
            "arena_tokens", "Debater tokens, by direction", labels=["direction"]
        )
        tokens.add_metric(["in"], float(c.tokens_in))
        tokens.add_metric(["out"], float(c.tokens_out))
        yield tokens
        yield CounterMetricFamily(
            "arena_judge_failures", "Judge calls that gave no valid verdict", value=c.judge_failures
        )
        yield CounterMetricFamily(
            "arena_jobs_reclaimed", "Jobs resumed after their worker died", value=c.jobs_reclaimed
        )
        yield CounterMetricFamily(
            "arena_delivery_failures",
            "Job deliveries whose handling failed outside the engine",
            value=c.delivery_failures,
        )
        yield CounterMetricFamily(
            "arena_jobs_dead_lettered",
            "Jobs given up after ARENA_MAX_DELIVERIES deliveries (their matches failed)",
            value=c.jobs_dead_lettered,
        )
