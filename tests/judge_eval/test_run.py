"""judge-eval: the metrics on hand-computed inputs, row loading, the pipeline with function
judges, position swapping, and the command end to end."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from arena.cli import app as cli
from arena.cli.deps import CliDeps
from arena.config import Settings
from arena.domain.records import Calibration
from arena.judge_eval.rows import EvalRow, parse_rows, select
from arena.judge_eval.run import build_report, judge_rows
from arena.models.base import GenerationRequest, StructuredResult
from arena.stats.evaluation import (
    accuracy,
    cohen_kappa,
    confusion,
    derive_label,
    macro_f1,
    percentile,
    position_bias,
    roc_auc,
    score_labels,
)
from arena.store import Store
from tests.fakes import FakeModels, FunctionModel

REQUIRED_KEYS = {
    "accuracy", "macro_f1", "auc", "kappa", "unscored_rate", "latency_ms", "confusion", "n",
    "judge", "file", "malformed",
}  # fmt: skip
TURN = re.compile(r"BEGIN TURN TO SCORE \[(\w+)\]\n(.*?)\nEND TURN TO SCORE \[\1\]", re.S)
OTHER = {"pro": "con", "con": "pro"}


def calibration_rows() -> list[EvalRow]:
    rows, malformed = parse_rows(
        files("arena.data").joinpath("calibration.jsonl").read_text("utf-8")
    )
    assert not malformed
    return rows


ROWS = calibration_rows()
BY_TEXT = {row.text.strip(): row for row in ROWS}


def turn_of(request: GenerationRequest) -> EvalRow:
    match = TURN.search(request.messages[0].content)
    assert match is not None
    return BY_TEXT[match.group(2)]


def verdict(stance: str, holding: float) -> dict[str, Any]:
    return {"stance": stance, "holding": holding, "engagement": 0.5, "concessions": [],
            "rationale": "test"}  # fmt: skip


def stance_for(row: EvalRow, label: str) -> str:
    return {"holds": row.side, "abandons": OTHER[row.side], "neutral": "neutral"}[label]


def oracle(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
    """Reads the gold label of the turn in its prompt and answers it."""
    row = turn_of(request)
    return verdict(stance_for(row, row.label), {"holds": 0.9, "abandons": 0.1}.get(row.label, 0.5))


# metrics, by hand


def test_derived_label_compares_stance_with_the_assigned_side() -> None:
    assert derive_label("pro", "pro") == "holds"
    assert derive_label("con", "pro") == "abandons"
    assert derive_label("con", "neutral") == "neutral"
    assert derive_label("pro", None) is None


def test_accuracy_and_macro_f1() -> None:
    gold = ["holds", "holds", "holds", "abandons", "abandons", "neutral"]
    pred = ["holds", "holds", "abandons", "abandons", "neutral", "neutral"]
    assert accuracy(gold, pred) == pytest.approx(4 / 6)
    # F1: holds 2*2/(2+3) = 0.8, abandons 2*1/(2+2) = 0.5, neutral 2*1/(2+1) = 2/3
    assert macro_f1(gold, pred) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    # a label predicted but never gold still counts, with F1 0
    assert macro_f1(["holds", "holds"], ["holds", "neutral"]) == pytest.approx((2 / 3 + 0) / 2)
    assert accuracy([], []) is None
    assert macro_f1([], []) is None


def test_auc_counts_ties_as_half() -> None:
    # 6 pairs: 0.9 beats both; each 0.5 ties 0.5 (half) and beats 0.1 -> (2 + 1.5 + 1.5) / 6
    assert roc_auc([0.9, 0.5, 0.5], [0.5, 0.1]) == pytest.approx(5 / 6)
    assert roc_auc([0.5, 0.5], [0.5]) == 0.5
    assert roc_auc([1.0, 0.8], [0.2, 0.0]) == 1.0
    assert roc_auc([0.2], [0.8, 0.9]) == 0.0
    assert roc_auc([0.7], []) is None
    assert roc_auc([], [0.1]) is None


def test_cohen_kappa() -> None:
    # observed 3/4; chance (2*1 + 2*3) / 16 = 1/2; kappa (0.75 - 0.5) / 0.5
    assert cohen_kappa(["h", "h", "a", "a"], ["h", "a", "a", "a"]) == pytest.approx(0.5)
    assert cohen_kappa(["h", "a", "n"], ["h", "a", "n"]) == 1.0
    # always the opposite of a balanced gold: observed 0, chance 1/2
    assert cohen_kappa(["h", "a"], ["a", "h"]) == pytest.approx(-1.0)
    assert cohen_kappa(["h", "h"], ["h", "h"]) is None  # no variation: undefined


def test_confusion_has_an_unscored_column() -> None:
    matrix = confusion(["holds", "holds", "abandons", "neutral"], ["holds", None, "holds", None])
    assert matrix["holds"] == {"holds": 1, "abandons": 0, "neutral": 0, "unscored": 1}
    assert matrix["abandons"] == {"holds": 1, "abandons": 0, "neutral": 0, "unscored": 0}
    assert matrix["neutral"] == {"holds": 0, "abandons": 0, "neutral": 0, "unscored": 1}


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([40.0, 10.0, 30.0, 20.0], 50) == 25.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 95) == pytest.approx(38.5)  # 30 + 0.85 * 10
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_scores_leave_unscored_rows_out_but_report_them() -> None:
    gold = ["holds", "abandons", "neutral", "holds"]
    pred = ["holds", "holds", None, None]
    s = score_labels(gold, pred, [0.9, 0.4, None, None])  # type: ignore[arg-type]
    assert (s.n, s.scored, s.unscored, s.unscored_rate) == (4, 2, 2, 0.5)
    assert s.accuracy == 0.5
    assert s.accuracy_unscored_as_wrong == 0.25
    assert s.auc == 1.0  # 0.9 (holds) above 0.4 (abandons)
    assert s.confusion["neutral"]["unscored"] == 1


def test_position_bias_compares_the_same_row_as_debater_1_and_2() -> None:
    gold = ["holds", "abandons", "neutral"]
    first = [("holds", 0.9), ("abandons", 0.2), ("neutral", 0.5)]
    second = [("holds", 0.7), ("holds", 0.6), (None, None)]
    bias = position_bias(gold, first, second)  # type: ignore[arg-type]
    assert (bias.pairs, bias.unscored_pairs, bias.changed) == (2, 1, 1)
    assert bias.changed_rate == 0.5
    assert bias.mean_abs_holding_diff == pytest.approx(0.3)  # (0.2 + 0.4) / 2
    assert (bias.accuracy_as_first, bias.accuracy_as_second) == (1.0, 0.5)
    # the arena's definition (arena.stats.position): the first pair moved 0.2, within the
    # tolerance; the second changed its label
    assert (bias.inconsistency.pairs, bias.inconsistency.inconsistent) == (2, 1)
    assert bias.inconsistency.rate == 0.5 and bias.inconsistency.unscored == 1
    assert bias.inconsistency.label.startswith("inconsistent on 50% of 2 swapped turns")


# loading rows


def test_malformed_rows_are_reported_with_their_line_numbers() -> None:
    good = {"motion": "M", "side": "pro", "text": "T", "label": "holds"}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({k: v for k, v in good.items() if k != "text"}),
        json.dumps({**good, "side": "PRO"}),
        "",
        json.dumps({**good, "label": "flips"}),
        json.dumps(["a", "list"]),
        json.dumps({**good, "text": "with a\u2028line separator", "opponent": "O", "id": 7}),
    ]
    rows, malformed = parse_rows("\n".join(lines) + "\n")
    assert [(m.line, m.problem.split(" ")[0]) for m in malformed] == [
        (2, "not"), (3, "missing"), (4, "side"), (6, "label"), (7, "not"),
    ]  # fmt: skip
    assert "'text'" in malformed[1].problem
    assert [r.line for r in rows] == [1, 8]
    assert rows[1].opponent == "O"


def test_sample_is_deterministic_spans_the_file_and_keeps_file_order() -> None:
    picked = select(ROWS, None, 30, 0)
    assert picked == select(ROWS, None, 30, 0)
    assert picked != select(ROWS, None, 30, 1)
    assert [r.line for r in picked] == sorted(r.line for r in picked)
    assert {r.label for r in picked} == {"holds", "abandons", "neutral"}
    assert select(ROWS, 5, None, 0) == ROWS[:5]


# the pipeline on the calibration set


async def test_an_oracle_judge_scores_perfectly_on_the_calibration_set() -> None:
    results = await judge_rows(FunctionModel("test:oracle", structured_fn=oracle), ROWS)
    report = build_report(results, judge="test:oracle", file="calibration")
    assert report.n == len(ROWS) == 172
    assert (report.accuracy, report.kappa, report.macro_f1, report.auc) == (1.0, 1.0, 1.0, 1.0)
    assert report.unscored_rate == 0.0
    for label, counts in report.confusion.items():
        assert counts[label] == sum(r.label == label for r in ROWS)
    assert report.latency_ms["p50"] is not None


async def test_a_judge_that_always_says_pro() -> None:
    model = FunctionModel("test:pro", structured_fn=lambda req, schema: verdict("pro", 0.9))
    report = build_report(await judge_rows(model, ROWS), judge="pro", file="calibration")
    right = sum((r.side, r.label) in {("pro", "holds"), ("con", "abandons")} for r in ROWS)
    assert report.accuracy == round(right / len(ROWS), 4)
    assert report.confusion["neutral"]["neutral"] == 0
    assert report.auc == 0.5  # one holding score for everything: all ties


async def test_unscored_verdicts_are_counted_apart() -> None:
    def shy(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any] | str:
        return (
            "I would rather not say."
            if turn_of(request).label == "neutral"
            else oracle(request, schema)
        )

    report = build_report(
        await judge_rows(FunctionModel("test:shy", structured_fn=shy), ROWS),
        judge="shy",
        file="calibration",
    )
    neutral = sum(r.label == "neutral" for r in ROWS)
    assert report.unscored == report.confusion["neutral"]["unscored"] == neutral
    assert report.unscored_rate == round(neutral / len(ROWS), 4)
    assert report.accuracy == 1.0
    assert report.accuracy_unscored_as_wrong == round(1 - neutral / len(ROWS), 4)


async def test_swap_reports_how_often_the_position_changes_the_verdict() -> None:
    def biased(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
        # right as Debater 1; as Debater 2 it reads every neutral turn as holding
        row = turn_of(request)
        if "Debater 1" in request.messages[0].content:
            return verdict(stance_for(row, row.label), 0.8)
        return verdict(stance_for(row, "holds" if row.label == "neutral" else row.label), 0.6)

    model = FunctionModel("test:biased", structured_fn=biased)
    report = build_report(await judge_rows(model, ROWS, swap=True), judge="b", file="calibration")
    neutral = sum(r.label == "neutral" for r in ROWS)
    assert len(model.requests) == 2 * len(ROWS)
    assert report.swap is not None
    assert report.swap.pairs == len(ROWS)
    assert report.swap.changed_rate == round(neutral / len(ROWS), 4)
    assert report.swap.mean_abs_holding_diff == pytest.approx(0.2)
    assert report.swap.accuracy_as_first == 1.0
    assert report.swap.accuracy_as_second == round(1 - neutral / len(ROWS), 4)
    # the same definition and name as a match's judge_swap: holding moved 0.2 (within the
    # tolerance) on every row, the stance on the neutral rows
    assert report.swap.inconsistency.inconsistent == neutral
    assert report.swap.inconsistency.rate == round(neutral / len(ROWS), 4)
    # the main figures use the natural position: PRO speaks first, CON second
    con_neutral = sum(r.label == "neutral" and r.side == "con" for r in ROWS)
    assert report.accuracy == round(1 - con_neutral / len(ROWS), 4)


async def test_rows_are_judged_with_bounded_concurrency() -> None:
    in_flight = peak = 0

    class Counting(FunctionModel):
        async def structured(
            self, request: GenerationRequest, schema: dict[str, Any], schema_name: str
        ) -> StructuredResult:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                return await super().structured(request, schema, schema_name)
            finally:
                in_flight -= 1

    await judge_rows(Counting("test:slow", structured_fn=oracle, delay=0.01), ROWS[:12],
                     concurrency=3)  # fmt: skip
    assert peak == 3


# the command


def deps(model: FunctionModel, settings: Settings | None = None) -> CliDeps:
    """The command's settings and a factory that answers every judge name with `model`."""
    chosen = settings or Settings(_env_file=None)
    return CliDeps(settings=lambda: chosen, models=lambda s: FakeModels(make=lambda name: model))


@pytest.fixture
def inject() -> FunctionModel:
    return FunctionModel("test:oracle", structured_fn=oracle)


def test_the_command_writes_a_json_report(inject: FunctionModel, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    args = ["judge-eval", "calibration", "--judge", "test:oracle", "--json", str(out), "--swap"]
    result = CliRunner().invoke(cli.app, args, obj=deps(inject))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert REQUIRED_KEYS <= report.keys()
    assert (report["n"], report["accuracy"], report["kappa"]) == (172, 1.0, 1.0)
    assert set(report["latency_ms"]) == {"p50", "p95"}
    assert report["swap"]["changed_rate"] == 0.0
    assert report["swap"]["inconsistency"]["rate"] == 0.0
    assert "swap: inconsistent (172 pairs; stance or holding > 0.2)" in result.stdout
    assert (report["judge"], report["file"]) == ("test:oracle", "calibration")
    assert report["malformed"] == 0
    assert "Cohen's kappa" in result.stdout
    assert "172/172" in result.stderr  # the progress bar


def test_the_command_names_malformed_lines(inject: FunctionModel, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    good = json.dumps({"motion": "M", "side": "con", "text": ROWS[0].text, "label": "holds"})
    rows.write_text(f"{good}\n{{oops\n{json.dumps({'motion': 'M'})}\n")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(cli.app, ["judge-eval", str(rows), "--json", str(out)],
                                obj=deps(inject))
    assert result.exit_code == 0, result.output
    assert f"{rows}:2: not valid JSON" in result.stderr
    assert f"{rows}:3: missing field 'side', 'text', 'label'" in result.stderr
    report = json.loads(out.read_text())
    assert (report["n"], report["malformed"]) == (1, 2)
    assert [m["line"] for m in report["malformed_lines"]] == [2, 3]

    rows.write_text("{oops\n[1]\n")
    result = CliRunner().invoke(cli.app, ["judge-eval", str(rows)], obj=deps(inject))
    assert result.exit_code != 0
    assert "all 2 rows are malformed" in " ".join(result.stderr.split())  # rich wraps errors
    assert f"{rows}:1: not valid JSON" in result.stderr

    result = CliRunner().invoke(cli.app, ["judge-eval", str(tmp_path / "missing.jsonl")],
                                obj=deps(inject))
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_local_judges_run_one_at_a_time_by_default(tmp_path: Path) -> None:
    model = FunctionModel("local:fake", structured_fn=oracle)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(cli.app, ["judge-eval", "calibration", "--limit", "4",
                                          "--json", str(out)], obj=deps(model))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["selection"]["concurrency"] == 1


def flaky(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any] | str:
    """The oracle on odd lines; no verdict at all on even ones."""
    row = turn_of(request)
    return oracle(request, schema) if row.line % 2 else "no verdict from me"


def read_calibration(settings: Settings, judge: str) -> Calibration | None:
    async def read() -> Calibration | None:
        store = await Store.connect(settings)
        try:
            return await store.judge_calibration(judge)
        finally:
            await store.close()

    return asyncio.run(read())


def test_record_stores_accuracy_with_unscored_rows_wrong_the_file_and_its_hash(
    settings: Settings,
) -> None:
    model = FunctionModel("test:flaky", structured_fn=flaky)
    result = CliRunner().invoke(cli.app, ["judge-eval", "calibration", "--record"],
                                obj=deps(model, settings))
    assert result.exit_code == 0, result.output
    # every scored row is right, but half the rows have no verdict: 86 of 172
    assert "recorded for test:flaky: 50% on calibration.jsonl (n=172)" in result.stdout

    record = read_calibration(settings, "test:flaky")
    assert record is not None
    assert (record.accuracy, record.n, record.scored) == (0.5, 172, 86)
    assert record.file == "calibration.jsonl"
    data = files("arena.data").joinpath("calibration.jsonl").read_bytes()
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.at is not None and record.at.date() == datetime.now(UTC).date()
    assert record.label == "50% on calibration.jsonl (n=172)"


def test_record_refuses_fewer_than_50_rows_unless_forced(
    inject: FunctionModel, settings: Settings, tmp_path: Path
) -> None:
    args = ["judge-eval", "calibration", "--limit", "49", "--record"]
    result = CliRunner().invoke(cli.app, args, obj=deps(inject, settings))
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())  # rich wraps errors
    assert "--record needs at least 50 rows, and 49 were selected" in message
    assert "add --force to record it anyway" in message
    assert inject.requests == []  # refused before judging
    assert read_calibration(settings, "test:oracle") is None

    rows = tmp_path / "mine.jsonl"
    rows.write_text("".join(json.dumps({"motion": r.motion, "side": r.side, "text": r.text,
                                        "label": r.label}) + "\n" for r in ROWS[:3]))  # fmt: skip
    result = CliRunner().invoke(cli.app, ["judge-eval", str(rows), "--record", "--force"],
                                obj=deps(inject, settings))
    assert result.exit_code == 0, result.output
    record = read_calibration(settings, "test:oracle")
    assert record is not None
    assert record.label == "100% on mine.jsonl (n=3)"
    assert record.sha256 == hashlib.sha256(rows.read_bytes()).hexdigest()


def test_a_record_from_before_files_were_named_still_reads() -> None:
    stored = {"accuracy": 0.7093, "n": 172, "at": "2026-01-02T03:04:05+00:00"}
    old = Calibration.model_validate({**stored, "judge": "j"})
    assert old.label == "71% (n=172, set not recorded)"


@pytest.mark.embedded
@pytest.mark.long
def test_the_real_embedded_judge_finishes_three_rows(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    args = ["judge-eval", "calibration", "--judge", "local:smollm2", "--limit", "3",
            "--json", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["n"] == 3
    assert report["judge"] == "local:smollm2"
    assert report["latency_ms"]["p50"] > 0


def test_the_command_closes_the_judges_client(tmp_path: Path) -> None:
    factory = FakeModels(make=lambda name: FunctionModel(name, structured_fn=oracle))
    settings = Settings(_env_file=None)
    obj = CliDeps(settings=lambda: settings, models=lambda s: factory)
    result = CliRunner().invoke(cli.app, ["judge-eval", "calibration", "--judge", "test:oracle",
                                          "--limit", "2"], obj=obj)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert list(factory.made) == ["test:oracle"] and factory.closed
