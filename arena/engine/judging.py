"""Judging a match's turns: what the judge sees of a turn, the panel's verdict, and the judge
tasks that run beside the turn loop (turn k is judged while turn k+1 is spoken)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Literal

from arena.domain.events import Verdict
from arena.domain.results import JudgeVerdict, SwapVerdict
from arena.domain.specs import PlannedTurn, Side
from arena.engine.judge import JudgeContext, aggregate, judge_turn
from arena.engine.lineup import Lineup
from arena.errors import ModelError
from arena.models.base import ChatModel
from arena.models.retry import RetryHook
from arena.stats.position import swap_consistent

log = logging.getLogger(__name__)


def judge_context(
    lineup: Lineup,
    plan_opener: Side | None,
    planned: PlannedTurn,
    texts: Mapping[int, tuple[Side, str]],
) -> JudgeContext:
    """The turn, the speaker's own first turn and the opponent's last one before it."""
    before = [i for i in sorted(texts) if i < planned.index]
    own = [i for i in before if texts[i][0] == planned.side]
    theirs = [i for i in before if texts[i][0] != planned.side]
    return JudgeContext(
        motion=lineup.spec.motion,
        side=planned.side,
        text=texts[planned.index][1],
        own_opening=texts[own[0]][1] if own else None,
        opponent_last=texts[theirs[-1]][1] if theirs else None,
        position=1 if plan_opener == planned.side else 2,
    )


def _retry_hook(lineup: Lineup, planned: PlannedTurn, judge: ChatModel) -> RetryHook:
    async def on_retry(attempt: int, error: ModelError, delay: float) -> None:
        log.warning(
            "match %s turn %d judge %s: attempt %d failed: %s; retrying in %.1fs",
            lineup.match_id, planned.index, judge.name, attempt, error, delay,
        )  # fmt: skip

    return on_retry


def swapped(ctx: JudgeContext) -> JudgeContext:
    """The same turn with the speaker presented in the other position (Debater 2, the second to
    speak, for Debater 1, and the reverse); everything else unchanged."""
    return replace(ctx, position=2 if ctx.position == 1 else 1)


def with_swap(verdict: JudgeVerdict, other: JudgeVerdict, position: Literal[1, 2]) -> JudgeVerdict:
    """`verdict` carrying the same judge's verdict from the other position, and whether the two
    are consistent (arena.stats.position)."""
    consistent = swap_consistent(
        (verdict.stance if verdict.scored else None, verdict.holding),
        (other.stance if other.scored else None, other.holding),
    )
    swap = SwapVerdict(
        position=position,
        scored=other.scored,
        stance=other.stance,
        holding=other.holding,
        reason=other.reason,
        consistent=consistent,
    )
    return verdict.model_copy(update={"swap": swap})


async def _judge(
    lineup: Lineup, planned: PlannedTurn, ctx: JudgeContext, judge: ChatModel
) -> JudgeVerdict:
    """One judge's verdict; with the match's judge_swap, asked from both positions at once."""

    def ask(context: JudgeContext) -> Awaitable[JudgeVerdict]:
        return judge_turn(
            judge,
            context,
            max_attempts=lineup.max_attempts,
            max_delay=lineup.max_delay,
            on_retry=_retry_hook(lineup, planned, judge),
        )

    if not lineup.spec.judge_swap:
        return await ask(ctx)
    other = swapped(ctx)
    verdict, again = await asyncio.gather(ask(ctx), ask(other))
    return with_swap(verdict, again, other.position)


async def panel_verdict(lineup: Lineup, planned: PlannedTurn, ctx: JudgeContext) -> Verdict:
    """Every judge of the panel on one turn, aggregated (median holding, majority stance). The
    swapped verdicts (judge_swap) are kept beside each judge's own and never aggregated."""
    verdicts = await asyncio.gather(*(_judge(lineup, planned, ctx, j) for j in lineup.judges))
    panel = aggregate(list(verdicts))
    return Verdict(
        match_id=lineup.match_id,
        turn=planned.index,
        side=planned.side,
        scored=panel.scored,
        stance=panel.stance,
        holding=panel.holding,
        engagement=panel.engagement,
        concessions=panel.concessions,
        rationale=panel.rationale,
        disputed=panel.disputed,
        judges=panel.judges,
    )


class JudgeTasks:
    """The judge tasks of one match. `check()` raises the first one's error (its sink broke:
    no point speaking turns that cannot be stored); `stop()` cancels and awaits them all."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, work: Callable[[], Awaitable[None]]) -> None:
        async def run() -> None:
            await work()

        self.tasks.append(asyncio.create_task(run()))

    def check(self) -> None:
        for task in self.tasks:
            failure = task.exception() if task.done() and not task.cancelled() else None
            if failure is not None:
                raise failure

    async def wait(self) -> None:
        await asyncio.gather(*self.tasks)

    async def stop(self) -> None:
        """Cancel the judge tasks and wait until every one has ended, even if this task is
        cancelled meanwhile (the cancellation is passed on once they have)."""
        pending = {task for task in self.tasks if not task.done()}
        for task in pending:
            task.cancel()
        interrupted = False
        while pending:
            try:
                _, pending = await asyncio.wait(pending)
            except asyncio.CancelledError:
                interrupted = True
                for task in pending:
                    task.cancel()
        for task in self.tasks:
            if not task.cancelled():
                task.exception()  # retrieved: a judge's error is not "never retrieved"
        if interrupted:
            raise asyncio.CancelledError
