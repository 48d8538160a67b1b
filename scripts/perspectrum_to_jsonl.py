"""Convert the Perspectrum dataset into judge-eval JSONL rows.

Source data: Sihao Chen, Daniel Khashabi, Wenpeng Yin, Chris Callison-Burch, Dan Roth.
"Seeing Things from a Different Angle: Discovering Diverse Perspectives about Claims".
NAACL 2019. https://github.com/CogComp/perspectrum
Data licence: Creative Commons Attribution-ShareAlike 4.0 (CC BY-SA 4.0).

A converted file is derived from that data, so it must carry the same credit and licence: with
--out FILE the script writes FILE's credit next to it (FILE with suffix .SOURCE.md); on stdout the
credit goes to stderr and is yours to keep with the rows. The data is never copied into this repo.

Each claim becomes a motion. A perspective in a SUPPORT cluster is a turn that holds the pro side;
one in an UNDERMINE cluster holds the con side. Every perspective yields a pro row and the mirrored
con row (label holds on the side it argues, abandons on the other), or, with --one-side, one of the
two chosen at random.

    python scripts/perspectrum_to_jsonl.py ../shared/data/perspectrum --split test \\
        --out perspectrum_test.jsonl
"""

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, TextIO, TypedDict

CLAIMS_FILE = "perspectrum_with_answers_v1.0.json"
POOL_FILE = "perspective_pool_v1.0.json"
SPLIT_FILE = "dataset_split_v1.0.json"
SPLITS = ("train", "dev", "test")
SIDES = ("pro", "con")
# The released files spell stance_label_3 in capitals, the upstream README in lower case.
SIDE_HELD = {"SUPPORT": "pro", "UNDERMINE": "con"}

CREDIT = """\
# Source and licence

Rows derived from Perspectrum v1.0 (https://github.com/CogComp/perspectrum):
Sihao Chen, Daniel Khashabi, Wenpeng Yin, Chris Callison-Burch, Dan Roth.
"Seeing Things from a Different Angle: Discovering Diverse Perspectives about Claims". NAACL 2019.

Licence: Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0),
https://creativecommons.org/licenses/by-sa/4.0/ . This file and its rows are under the same licence.

Changes: converted by scripts/perspectrum_to_jsonl.py (Persona Arena) into judge-eval rows; each
SUPPORT/UNDERMINE perspective is paired with its claim as a pro and/or con debate turn.
"""


class Row(TypedDict):
    motion: str
    side: str
    text: str
    label: str
    source: str
    claim_id: int
    perspective_id: int


class DatasetError(Exception):
    """DATA_DIR is missing a Perspectrum file or a file does not have the expected shape."""


@dataclass(frozen=True)
class Perspectrum:
    """The three files the conversion needs, indexed for lookup."""

    claims: list[dict[str, Any]]
    texts: dict[int, str]
    split_of: dict[int, str]


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise DatasetError(
            f"{path.name} not found in {path.parent}: DATA_DIR must hold {CLAIMS_FILE}, "
            f"{POOL_FILE} and {SPLIT_FILE} (e.g. ../shared/data/perspectrum)"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path} is not valid JSON: {exc}") from exc


def load(data_dir: Path) -> Perspectrum:
    claims = _read_json(data_dir / CLAIMS_FILE)
    pool = _read_json(data_dir / POOL_FILE)
    split = _read_json(data_dir / SPLIT_FILE)
    try:
        texts = {int(p["pId"]): str(p["text"]).strip() for p in pool}
        split_of = {int(cid): str(name) for cid, name in split.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DatasetError(f"unexpected shape in {data_dir}: {exc!r}") from exc
    return Perspectrum(claims=claims, texts=texts, split_of=split_of)


def perspectives_of(claim: dict[str, Any]) -> list[tuple[int, str]]:
    """(perspective id, side it holds) for each SUPPORT/UNDERMINE perspective, each id once."""
    held: dict[int, str] = {}
    conflicting: set[int] = set()
    for cluster in claim.get("perspectives", []):
        side = SIDE_HELD.get(str(cluster.get("stance_label_3", "")).upper())
        if side is None:
            continue
        for pid in cluster.get("pids", []):
            # A few perspectives sit in two clusters of the same claim; one with opposite
            # stances would have no gold side, so it is dropped.
            if held.setdefault(int(pid), side) != side:
                conflicting.add(int(pid))
    return [(pid, side) for pid, side in held.items() if pid not in conflicting]


def convert(
    data: Perspectrum,
    split: str,
    *,
    one_side: bool = False,
    max_per_claim: int | None = None,
    seed: int = 0,
) -> Iterator[Row]:
    """Rows for every claim in `split`, in file order."""
    rng = random.Random(seed)
    for claim in data.claims:
        cid = int(claim["cId"])
        if data.split_of.get(cid) != split:
            continue
        items = perspectives_of(claim)
        if max_per_claim is not None and len(items) > max_per_claim:
            keep = set(rng.sample(range(len(items)), max_per_claim))
            items = [item for i, item in enumerate(items) if i in keep]
        for pid, held in items:
            if pid not in data.texts:
                raise DatasetError(f"perspective {pid} of claim {cid} is not in {POOL_FILE}")
            sides = (rng.choice(SIDES),) if one_side else SIDES
            for side in sides:
                yield Row(
                    motion=str(claim["text"]).strip(),
                    side=side,
                    text=data.texts[pid],
                    label="holds" if side == held else "abandons",
                    source="perspectrum",
                    claim_id=cid,
                    perspective_id=pid,
                )


def write_rows(rows: Iterable[Row], out: TextIO) -> Counter[str]:
    """Write rows as JSONL; returns counts by label, by side and of claims."""
    counts: Counter[str] = Counter()
    claims: set[int] = set()
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        counts["rows"] += 1
        counts[row["label"]] += 1
        counts[row["side"]] += 1
        claims.add(row["claim_id"])
    counts["claims"] = len(claims)
    return counts


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Convert Perspectrum (CC BY-SA 4.0) to judge-eval JSONL rows.",
    )
    parser.add_argument(
        "data_dir",
        metavar="DATA_DIR",
        type=Path,
        help="folder holding the Perspectrum v1.0 JSON files",
    )
    parser.add_argument("--split", choices=SPLITS, default="test", help="default: test")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write rows here (and the credit to FILE.SOURCE.md); default stdout",
    )
    parser.add_argument("--limit", type=_positive_int, metavar="N", help="stop after N rows")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for --one-side and --max-per-claim (default 0)"
    )
    parser.add_argument(
        "--one-side",
        action="store_true",
        help="one row per perspective, side chosen at random, instead of both",
    )
    parser.add_argument(
        "--max-per-claim",
        type=_positive_int,
        metavar="N",
        help="at most N perspectives per claim, sampled with --seed",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        data = load(args.data_dir)
        rows = islice(
            convert(
                data,
                args.split,
                one_side=args.one_side,
                max_per_claim=args.max_per_claim,
                seed=args.seed,
            ),
            args.limit,
        )
        if args.out is None:
            counts = write_rows(rows, sys.stdout)
        else:
            with args.out.open("w", encoding="utf-8") as out:
                counts = write_rows(rows, out)
            args.out.with_suffix(".SOURCE.md").write_text(CREDIT, encoding="utf-8")
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{counts['rows']} rows from {counts['claims']} {args.split} claims: "
        f"holds {counts['holds']}, abandons {counts['abandons']}; "
        f"pro {counts['pro']}, con {counts['con']}",
        file=sys.stderr,
    )
    if args.out is None:
        print(
            "Credit and licence (keep with the rows): Perspectrum, Chen et al., NAACL 2019; "
            "CC BY-SA 4.0.",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
