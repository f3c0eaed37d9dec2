"""The synced tables as the wire sees them.

Each table has a small wire id, its natural key columns, and a type for
every column. Both replicas must agree on this registry: it is part of the
protocol version. Order matters: columns travel in this order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ColumnType(StrEnum):
    """How a column is packed; every type also admits NULL."""

    INT = "int"  # signed integer, delta + zigzag coded
    STR = "str"  # UTF-8 text, dictionary coded
    DATE = "date"  # ISO `YYYY-MM-DD` text, coded as days since 1970-01-01


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType


@dataclass(frozen=True)
class TableSpec:
    wire_id: int
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # School-owned tables carry the owner in `school`; national ones do not.
    national: bool = False
    # Derived once here because codecs use them for every batch.
    key_indexes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    types: tuple[ColumnType, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names) or not self.key:
            raise ValueError(f"{self.name}: duplicate column names or no key")
        missing = [k for k in self.key if k not in names]
        if missing:
            raise ValueError(f"{self.name}: key columns {missing} are not columns")
        object.__setattr__(self, "key_indexes", tuple(names.index(k) for k in self.key))
        object.__setattr__(self, "types", tuple(c.type for c in self.columns))

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def value_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.name not in self.key)


def _cols(spec: str) -> tuple[Column, ...]:
    out = []
    for part in spec.split():
        name, _, kind = part.partition(":")
        out.append(Column(name, ColumnType(kind)))
    return tuple(out)


# Wire id 2 (`coefficients`) is retired: replaced by evaluation_rules (6); ids are never reused.
RETIRED_WIRE_IDS = frozenset({2})

TABLES: tuple[TableSpec, ...] = (
    TableSpec(1, "subjects", _cols("code:str name_ar:str name_fr:str massar_code:str"), ("code",), national=True),
    TableSpec(
        3,
        "exam_calendar",
        _cols("code:str exam:str level:str year:str starts_on:date ends_on:date name_ar:str name_fr:str"),
        ("code",),
        national=True,
    ),
    TableSpec(
        4,
        "guidance_notes",
        _cols("code:str level:str published_on:date title_ar:str title_fr:str body_ar:str body_fr:str"),
        ("code",),
        national=True,
    ),
    TableSpec(
        5,
        "levels",
        _cols("code:str cycle:str year:int scale:int ord:int name_ar:str name_fr:str"),
        ("code",),
        national=True,
    ),
    TableSpec(
        6,
        "evaluation_rules",
        _cols(
            "since:str level:str subject:str tests:int activities_weight:str formula:str coefficient:int exam_coefficient:int"
        ),
        ("since", "level", "subject"),
        national=True,
    ),
    TableSpec(
        7,
        "orientation_rounds",
        _cols("year:str round:str opens_on:date closes_on:date appeal_days:int"),
        ("year", "round"),
        national=True,
    ),
    TableSpec(10, "classes", _cols("school:str year:str code:str level:str"), ("school", "year", "code")),
    TableSpec(
        11,
        "pupils",
        _cols(
            "code:str school:str last_name:str first_name:str last_name_ar:str first_name_ar:str gender:str birth_date:date birth_place:str provisional:int"
        ),
        ("code",),
    ),
    TableSpec(12, "enrolments", _cols("school:str year:str pupil:str class:str"), ("school", "year", "pupil")),
    TableSpec(
        13,
        "guardians",
        _cols("school:str pupil:str n:int name:str relation:str phone:str lang:str sms_consent:int"),
        ("pupil", "n"),
    ),
    TableSpec(
        14,
        "grades",
        _cols(
            "school:str year:str pupil:str subject:str semester:int assessment:int score:int absent:int justified:int remark:str"
        ),
        ("year", "pupil", "subject", "semester", "assessment"),
    ),
    TableSpec(
        15,
        "absences",
        _cols("school:str pupil:str day:date hours:int justified:int reason:str justified_on:date recorded_by:str"),
        ("pupil", "day"),
    ),
    TableSpec(
        16, "incidents", _cols("school:str pupil:str day:date n:int description:str measure:str"), ("pupil", "day", "n")
    ),
    TableSpec(
        17,
        "orientation_wishes",
        _cols("school:str year:str pupil:str round:str rank:int choice:str"),
        ("year", "pupil", "round", "rank"),
    ),
    TableSpec(
        18,
        "orientation_decisions",
        _cols(
            "school:str year:str pupil:str decision:str decided_on:date note:str appeal_until:str appeal_note:str appealed_on:date"
        ),
        ("year", "pupil"),
    ),
    TableSpec(
        19,
        "exam_results",
        _cols("school:str year:str pupil:str exam:str subject:str score:int"),
        ("year", "pupil", "exam", "subject"),
    ),
    TableSpec(
        20,
        "council_decisions",
        _cols("school:str year:str pupil:str decision:str note:str decided_on:date"),
        ("year", "pupil"),
    ),
    TableSpec(
        21,
        "year_outcomes",
        _cols("school:str year:str pupil:str outcome:str next_level:str next_class:str confirmed:int"),
        ("year", "pupil"),
    ),
    TableSpec(
        22,
        "departures",
        _cols("school:str year:str pupil:str left_on:date kind:str to_school:str"),
        ("school", "year", "pupil"),
    ),
    TableSpec(
        23,
        "semester_closures",
        _cols("school:str year:str semester:int closed_by:str closed_at:str"),
        ("school", "year", "semester"),
    ),
)

BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}
BY_ID: dict[int, TableSpec] = {t.wire_id: t for t in TABLES}

if len(BY_NAME) != len(TABLES) or len(BY_ID) != len(TABLES):
    raise ValueError("table names and wire ids must be unique")
if RETIRED_WIRE_IDS & set(BY_ID):
    raise ValueError("a retired wire id is reused")
if not all(0 < t.wire_id < 128 for t in TABLES):
    # One msgpack byte per id on the wire.
    raise ValueError("wire ids must be within 1..127")

PULL_TIERS: tuple[frozenset[str], ...] = (frozenset({"absences", "incidents"}), frozenset({"exam_calendar"}))
"""What a node under a byte budget pulls first, tier by tier (SPEC 12.1): parents' alerts, then the
published exam calendar; the rest after. Tier t (1-based) is PULL_TIERS[t - 1]."""
if any(name not in BY_NAME for tier in PULL_TIERS for name in tier):
    raise ValueError("a pull tier names an unknown table")
