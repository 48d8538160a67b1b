"""The dataset card (README.md) written beside an archive's tables.

Its YAML front matter is what the Hugging Face Hub and the `datasets` library read: one config
per table (`load_dataset(DIR, "turns")`); the licence is left for the operator to fill in, as
only they know under which terms their matches may be shared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

import arena
from arena.archive.columns import COLUMNS, TABLE_ABOUT
from arena.archive.tables import SCHEMAS, TABLES, ArchivedMatch, Row

LICENCE_PLACEHOLDER = "FILL-IN: the licence under which you publish these matches"


@dataclass
class CardStats:
    """What the card says about the matches archived: counted as they are written."""

    rows: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)
    judges: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    personas: set[str] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None

    def add(self, match: ArchivedMatch, rows: dict[str, list[Row]]) -> None:
        record, spec = match.record, match.record.spec
        self.rows.update({name: len(table) for name, table in rows.items()})
        self.statuses[record.status] += 1
        self.formats[spec.format] += 1
        self.judges.update(spec.judges)
        self.models.update((spec.pro.model, spec.con.model))
        self.personas.update((spec.pro.persona, spec.con.persona))
        created = record.created_at
        self.first = created if self.first is None else min(self.first, created)
        self.last = created if self.last is None else max(self.last, created)


def type_label(kind: pa.DataType) -> str:
    """A column's type as the docs name it: string, int32, float64, bool, timestamp[us, UTC],
    list<string>."""
    if pa.types.is_list(kind):
        return f"list<{type_label(kind.value_type)}>"
    if pa.types.is_timestamp(kind):
        return f"timestamp[{kind.unit}, {kind.tz}]"
    return {"double": "float64"}.get(str(kind), str(kind))


def _count(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {what}" for what, n in sorted(counter.items())) or "none"


def card(stats: CardStats, before: datetime, archived_at: datetime) -> str:
    configs = "\n".join(f"- config_name: {name}\n  data_files: {name}.parquet" for name in TABLES)
    first = stats.first.date().isoformat() if stats.first else "-"
    last = stats.last.date().isoformat() if stats.last else "-"
    lines = [
        "---",
        "license: other",
        f'license_name: "{LICENCE_PLACEHOLDER}"',
        "pretty_name: Persona Arena matches",
        "tags: [debate, llm-as-a-judge, sycophancy, persona]",
        "configs:",
        configs,
        "---",
        "",
        "# Persona Arena matches",
        "",
        "Debates between language-model personas, each turn judged for how firmly its speaker "
        "holds its assigned side, with the spectators' votes: exported by `arena archive` "
        f"(persona-arena {arena.__version__}).",
        "",
        f"- Matches: {stats.rows['matches']} ({_count(stats.statuses)}; {_count(stats.formats)})",
        f"- Created: {first} to {last} (UTC), every finished match created before "
        f"{before.isoformat()}",
        f"- Archived: {archived_at.isoformat()}",
        f"- Judges: {', '.join(sorted(stats.judges)) or '-'}",
        f"- Debater models: {', '.join(sorted(stats.models)) or '-'}",
        f"- Personas: {len(stats.personas)}",
        "- Rows: " + ", ".join(f"{name} {stats.rows[name]}" for name in TABLES),
        "",
        "## Licence",
        "",
        f"{LICENCE_PLACEHOLDER}. The motions, personas and replies are the operator's and the "
        "model providers' to license; check your providers' terms before you publish.",
        "",
        "## Loading",
        "",
        "```python",
        "import pandas as pd; turns = pd.read_parquet('turns.parquet')",
        "import duckdb; duckdb.sql(\"select judge, avg(holding) from 'verdicts.parquet' "
        'group by judge")',
        "from datasets import load_dataset; turns = load_dataset('.', 'turns')",
        "```",
        "",
        "Join the tables on `match_id` (and `turn`). No spectator ids or IP addresses are "
        "included: only each turn's tally.",
    ]
    for name in TABLES:
        lines += ["", f"## {name}.parquet", "", f"{TABLE_ABOUT[name]}.", ""]
        lines += ["| column | type | meaning |", "|---|---|---|"]
        for column in SCHEMAS[name]:
            meaning = COLUMNS[name][column.name]
            lines.append(f"| `{column.name}` | `{type_label(column.type)}` | {meaning} |")
    return "\n".join(lines) + "\n"
