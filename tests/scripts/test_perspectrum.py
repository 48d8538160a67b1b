"""scripts/perspectrum_to_jsonl.py on a tiny fixture, and on the real data when it is present."""

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
REAL_DATA = REPO.parent / "shared" / "data" / "perspectrum"
ROW_FIELDS = {"motion", "side", "text", "label", "source", "claim_id", "perspective_id"}


def _load_script() -> ModuleType:
    path = REPO / "scripts" / "perspectrum_to_jsonl.py"
    spec = importlib.util.spec_from_file_location("perspectrum_to_jsonl", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


script = _load_script()


def _cluster(pids: list[int], label: str) -> dict[str, Any]:
    return {
        "pids": pids,
        "stance_label_3": label,
        "stance_label_5": label,
        "voter_counts": [3, 0, 0, 0, 0],
        "evidence": [1],
    }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    claims = [
        {
            "cId": 1,
            "text": "Zoos should be banned",
            "source": "idebate",
            "topics": [],
            "perspectives": [_cluster([10, 11], "SUPPORT"), _cluster([12], "UNDERMINE")],
        },
        # 13 sits in two clusters with the same stance (as in the real data); 14 is unlabelled.
        {
            "cId": 2,
            "text": "Homework should be abolished",
            "source": "procon",
            "topics": [],
            "perspectives": [
                _cluster([13], "UNDERMINE"),
                _cluster([13, 15], "undermine"),
                _cluster([14], "NOT_A_PERSPECTIVE"),
            ],
        },
        {
            "cId": 3,
            "text": "Space travel is a waste",
            "source": "idebate",
            "topics": [],
            "perspectives": [_cluster([16], "SUPPORT")],
        },
    ]
    pool = [
        {"pId": pid, "text": f" perspective {pid} ", "source": "idebate"} for pid in range(10, 17)
    ]
    split = {"1": "test", "2": "test", "3": "train"}
    files = {
        "perspectrum_with_answers_v1.0.json": claims,
        "perspective_pool_v1.0.json": pool,
        "dataset_split_v1.0.json": split,
    }
    for name, content in files.items():
        (tmp_path / name).write_text(json.dumps(content), encoding="utf-8")
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[list[dict[str, Any]], str]:
    assert script.main(list(argv)) == 0
    captured = capsys.readouterr()
    return [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_test_split_gives_pro_rows_and_mirrored_con_rows(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows, err = _run(capsys, str(data_dir))
    assert {(r["claim_id"], r["perspective_id"], r["side"], r["label"]) for r in rows} == {
        (1, 10, "pro", "holds"),
        (1, 10, "con", "abandons"),
        (1, 11, "pro", "holds"),
        (1, 11, "con", "abandons"),
        (1, 12, "pro", "abandons"),
        (1, 12, "con", "holds"),
        (2, 13, "pro", "abandons"),
        (2, 13, "con", "holds"),
        (2, 15, "pro", "abandons"),
        (2, 15, "con", "holds"),
    }
    assert len(rows) == 10
    assert "10 rows" in err and "holds 5" in err and "abandons 5" in err


def test_rows_carry_only_the_judge_eval_fields(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows, _ = _run(capsys, str(data_dir))
    first = rows[0]
    assert set(first) == ROW_FIELDS
    assert first["motion"] == "Zoos should be banned"
    assert first["text"] == "perspective 10"
    assert all(r["source"] == "perspectrum" for r in rows)


def test_split_option_picks_other_claims(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows, _ = _run(capsys, str(data_dir), "--split", "train")
    assert [(r["claim_id"], r["side"], r["label"]) for r in rows] == [
        (3, "pro", "holds"),
        (3, "con", "abandons"),
    ]


def test_one_side_emits_each_perspective_once_and_is_seeded(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows, _ = _run(capsys, str(data_dir), "--one-side", "--seed", "7")
    assert sorted(r["perspective_id"] for r in rows) == [10, 11, 12, 13, 15]
    supports = {10, 11}
    for r in rows:
        holds_side = "pro" if r["perspective_id"] in supports else "con"
        assert r["label"] == ("holds" if r["side"] == holds_side else "abandons")
    again, _ = _run(capsys, str(data_dir), "--one-side", "--seed", "7")
    assert again == rows


def test_limit_and_max_per_claim(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows, _ = _run(capsys, str(data_dir), "--limit", "3")
    assert len(rows) == 3
    rows, _ = _run(capsys, str(data_dir), "--max-per-claim", "1")
    per_claim = {(r["claim_id"], r["perspective_id"]) for r in rows}
    assert sorted(claim for claim, _ in per_claim) == [1, 2]
    assert len(rows) == 4


def test_out_file_gets_rows_and_a_credit_file(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval.jsonl"
    assert script.main([str(data_dir), "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert len(out.read_text(encoding="utf-8").splitlines()) == 10
    credit = (tmp_path / "eval.SOURCE.md").read_text(encoding="utf-8")
    assert "NAACL 2019" in credit and "CC BY-SA 4.0" in credit


def test_missing_file_is_reported_with_what_to_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert script.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "perspectrum_with_answers_v1.0.json not found" in err
    assert "DATA_DIR must hold" in err


def test_real_test_split(capsys: pytest.CaptureFixture[str]) -> None:
    if not REAL_DATA.is_dir():
        pytest.skip(f"Perspectrum data not found at {REAL_DATA} (../shared/data/perspectrum)")
    rows, _ = _run(capsys, str(REAL_DATA), "--split", "test")
    assert len(rows) >= 500
    labels = {r["label"] for r in rows}
    assert labels == {"holds", "abandons"}
    assert len({r["claim_id"] for r in rows}) > 200
    assert all(set(r) == ROW_FIELDS and r["text"] and r["motion"] for r in rows)
