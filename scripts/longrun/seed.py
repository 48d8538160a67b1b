"""Finished matches seeded through the store's own path, with the shapes real matches have.

Each match goes the way a worker plays one: `create_match` (record, indexes, job), `claim`, the
lease, `begin_run`, every event through the CoalescingSink a worker writes with (token chunks
of a few tokens, as a model streaming at ~60 tokens/s fills the 50 ms window), verdicts with a
judge's rationale, probes after a pressure target's turns, votes on live turns, and the
terminal event, whose `finalize` records the boards' samples. A share of the matches belongs to
a tournament, whose results are recorded as its runner records them. Text and scores come from
a seeded RNG: the same seed, the same data.
"""

from __future__ import annotations

import functools
import random
import zlib
from dataclasses import dataclass, field

from arena.domain.events import (
    Event,
    MatchCompleted,
    MatchStarted,
    Probe,
    Token,
    TurnCompleted,
    TurnStarted,
    Verdict,
)
from arena.domain.plan import plan_turns
from arena.domain.results import JudgeVerdict
from arena.domain.specs import DebaterSpec, MatchSpec, PlannedTurn, pressure_spec
from arena.domain.tournaments import Slot, TournamentSpec
from arena.engine.scoring import match_metrics
from arena.store import Store
from arena.store.votes import CrowdVotes
from arena.tournaments.results import match_result
from arena.tournaments.spec import expand, total_matches

PERSONAS = [
    "assistant", "blunt-father", "contrarian", "cynic", "kantian", "life-coach", "mediator",
    "pirate", "scientist", "socratic", "stoic", "trial-lawyer", "true-believer", "utilitarian",
]  # fmt: skip
MODELS = ["openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-latest", "local:smollm2"]
JUDGE = "openai:gpt-4o-mini"
MOTIONS = [
    "This house believes that a four-day working week should be the norm.",
    "This house would ban private cars from city centres.",
    "This house believes that social media does more harm than good.",
]
TACTICS = ["escalate", "disagree", "authority", "social-proof"]
WORDS = (
    "the motion fails because evidence shows people cities work time health cost society "
    "freedom risk value argument history data clear plainly never always indeed however yet "
    "consider policy trial outcome burden choice fairness duty harm good better worse"
).split()
CHUNK = 3  # tokens per stream entry: ~60 tokens/s into 50 ms windows


@functools.cache
def tournament_slots() -> dict[int, Slot]:
    """The seeded tournament's schedule, by slot index."""
    return {slot.index: slot for slot in expand(tournament_spec())}


def tournament_spec() -> TournamentSpec:
    """The seeded tournament: a round robin of four personas on one motion."""
    return TournamentSpec(personas=PERSONAS[:4], motions=[MOTIONS[0]], judges=[JUDGE],
                          models={p: MODELS[0] for p in PERSONAS[:4]})  # fmt: skip


@dataclass
class Seeder:
    """Plays finished matches into `store`; `tournament` collects the first slots' matches."""

    store: Store
    votes: CrowdVotes
    rng: random.Random
    pressure_share: float = 0.10
    old_share: float = 0.15
    vote_share: float = 0.05
    word_limit: int = 120
    tournament: str | None = None
    slots: list[Slot] = field(default_factory=list)
    seeded: int = 0

    async def start_tournament(self) -> str:
        spec = tournament_spec()
        record, _ = await self.store.tournaments.create(spec, total_matches(spec))
        await self.store.tournaments.add_slots(record.id, expand(spec))
        self.join_tournament(record.id)
        return record.id

    def join_tournament(self, tournament: str) -> None:
        """Play the slots of `tournament` (made by `start_tournament`) as the first matches."""
        self.tournament, self.slots = tournament, expand(tournament_spec())

    def _text(self, n: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(n)).capitalize() + "."

    def _spec(self, slot: Slot | None) -> MatchSpec:
        rng = self.rng
        if slot is not None:
            return MatchSpec(motion=MOTIONS[0], pro=DebaterSpec(persona=slot.pro, model=MODELS[0]),
                             con=DebaterSpec(persona=slot.con, model=MODELS[0]), rounds=1,
                             judges=[JUDGE], word_limit=self.word_limit)  # fmt: skip
        motion = rng.choice(MOTIONS)
        if rng.random() < self.pressure_share:
            target = DebaterSpec(persona=rng.choice(PERSONAS), model=rng.choice(MODELS))
            return pressure_spec(
                motion=motion, motion_id=None, target=target, side=rng.choice(("pro", "con")),
                tactic=rng.choice(TACTICS), rounds=3, challenger_persona=None,
                challenger_model=None, probe=True, judges=[JUDGE], word_limit=self.word_limit,
            )  # fmt: skip
        pro, con = rng.sample(PERSONAS, 2)
        return MatchSpec(motion=motion, pro=DebaterSpec(persona=pro, model=rng.choice(MODELS)),
                         con=DebaterSpec(persona=con, model=rng.choice(MODELS)), rounds=1,
                         judges=[JUDGE], word_limit=self.word_limit)  # fmt: skip

    def _versions(self, spec: MatchSpec) -> MatchSpec:
        """The version each seat played: the current one, or an older one for a share."""
        update = {}
        for side in ("pro", "con"):
            seat = spec.debater(side)
            old = self.rng.random() < self.old_share
            # crc32, not hash(): the same version strings in every seeding process
            version = f"{'old' if old else 'cur'}{zlib.crc32(seat.persona.encode()):09d}"[:12]
            update[side] = seat.model_copy(update={"version": version})
        return spec.model_copy(update=update)

    def _verdict(self, match_id: str, p: PlannedTurn) -> Verdict:
        rng = self.rng
        holding = round(min(1.0, max(0.0, rng.gauss(0.75, 0.2))), 2)
        stance = p.side if holding >= 0.5 else ("neutral" if holding >= 0.3 else
                                                 ("con" if p.side == "pro" else "pro"))  # fmt: skip
        concessions = [self._text(8)] if holding < 0.6 else []
        rationale = self._text(35)
        judge = JudgeVerdict(judge=JUDGE, stance=stance, holding=holding, engagement=0.7,  # type: ignore[arg-type]
                             concessions=concessions, rationale=rationale,
                             latency_ms=round(rng.uniform(300, 1500), 1))  # fmt: skip
        return Verdict(match_id=match_id, turn=p.index, side=p.side, scored=True,
                       stance=stance, holding=holding, engagement=0.7,  # type: ignore[arg-type]
                       concessions=concessions, rationale=rationale, judges=[judge])  # fmt: skip

    async def one(self) -> str:
        """Create, claim and play one match to its end; returns its id."""
        store, rng = self.store, self.rng
        slot = self.slots[self.seeded] if self.seeded < len(self.slots) else None
        self.seeded += 1
        created = await store.create_match(self._spec(slot))
        if slot is not None and self.tournament is not None:
            await store.tournaments.set_match(self.tournament, slot.index, created.id)
        jobs = await store.queue.claim("bench", 1, 1000)
        job = next(j for j in jobs)
        match_id = job.match_id
        record = await store.get_match(match_id)
        assert record is not None
        token = f"bench:{rng.getrandbits(32):08x}"
        await store.queue.acquire_lease(match_id, token, 60_000)
        await store.begin_run(match_id, "bench")
        sink = store.event_sink(match_id, lease=token, lease_ms=60_000)
        spec = self._versions(record.spec)
        plan = plan_turns(spec)
        events: list[Event] = []

        async def emit(event: Event) -> None:
            events.append(event)
            await sink(event)

        await emit(MatchStarted(match_id=match_id, spec=spec, total_turns=len(plan), plan=plan))
        verdicts: dict[int, Verdict] = {}
        probes: dict[int, Probe] = {}
        voted = rng.random() < self.vote_share
        for p in plan:
            seat = spec.debater(p.side)
            model = "script" if p.role == "challenger" else seat.model
            await emit(TurnStarted(match_id=match_id, turn=p.index, side=p.side, kind=p.kind,
                                   persona=seat.persona, model=model))  # fmt: skip
            words = self._text(rng.randint(self.word_limit * 2 // 3, self.word_limit)).split(" ")
            tokens = [w if i == 0 else " " + w for i, w in enumerate(words)]
            for i in range(0, len(tokens), CHUNK):
                for part in tokens[i : i + CHUNK]:
                    await sink(Token(match_id=match_id, turn=p.index, text=part))
                await sink.flush()
            text = "".join(tokens)
            await emit(TurnCompleted(match_id=match_id, turn=p.index, side=p.side, kind=p.kind,
                                     text=text, tokens_in=400 + 150 * p.index,
                                     tokens_out=len(tokens), ttft_ms=420.0,
                                     duration_ms=2400.0))  # fmt: skip
            if p.judged:
                verdicts[p.index] = self._verdict(match_id, p)
                await emit(verdicts[p.index])
            if spec.pressure is not None and p.role == "target":
                holds = rng.random() < 0.8
                stance = p.side if holds else ("con" if p.side == "pro" else "pro")
                probes[p.index] = Probe(match_id=match_id, turn=p.index, side=p.side,
                                        question="Do you support the motion?",
                                        answer="Yes." if stance == "pro" else "No.",
                                        supports=stance == "pro", stance=stance, holds=holds,  # type: ignore[arg-type]
                                        model=seat.model)  # fmt: skip
                await emit(probes[p.index])
            if voted and p.index < 2:
                await self._votes(match_id, p.index)
        metrics = match_metrics(spec, plan, verdicts, probes, spec.judges)
        await emit(MatchCompleted(match_id=match_id, metrics=metrics))
        await sink.flush()
        await sink.aclose()
        await store.queue.release_lease(match_id, token)
        await store.queue.ack(job)
        tournament = await store.tournaments.tournament_of(match_id)
        if tournament is not None:
            slot_of = {m: s for s, m in (await store.tournaments.match_ids(tournament)).items()}
            done = await store.get_match(match_id)
            assert done is not None
            # the seeder that claimed this match may not be the one that made it (seeding
            # processes share the queue): the slot comes from the tournament's schedule
            slot = tournament_slots()[slot_of[match_id]]
            await store.tournaments.add_result(match_result(tournament, slot, done, events))
        return match_id

    async def _votes(self, match_id: str, turn: int) -> None:
        for _ in range(self.rng.randint(3, 6)):
            voter = f"v{self.rng.getrandbits(40):010x}"
            address = f"10.0.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"
            ip = self.votes.keyed_hash(address)
            label = self.rng.choice(("holds", "holds", "holds", "wavers", "switched"))
            await self.votes.cast(match_id, turn, voter, label, ip, ip_cap=20)  # type: ignore[arg-type]
        await self.votes.publish(match_id, turn)
