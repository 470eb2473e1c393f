"""Field types shared by the API schemas of several domains."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, WithJsonSchema

# ASCII digits only: "\d" would take full-width and other scripts' digits too.
_PARTIAL_DATE = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")


def _check_partial_date(value: str) -> str:
    match = _PARTIAL_DATE.match(value)
    if not match:
        raise ValueError("use YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        date(year or 0, month or 1, day or 1)  # year 0000 does not exist
    except ValueError as exc:
        raise ValueError(f"not a calendar date: {exc}") from None
    return value


PartialDate = Annotated[
    str,
    Field(
        max_length=10,
        # Documented here, checked by `_check_partial_date` (which also knows the calendar).
        json_schema_extra={"pattern": r"^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$"},
        description="A date known to the day, the month or only the year: "
        "`2017-05-20`, `2014-04` or `1944`.",
        examples=["1944", "2014-04", "2017-05-20"],
    ),
    AfterValidator(_check_partial_date),
]


def partial_date_year(value: str | None) -> int | None:
    return int(value[:4]) if value else None


# Row ids are 32-bit integers on PostgreSQL; a larger one is invalid input (422),
# not a database error.
MAX_ID = 2_147_483_647
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
# A row id as a list filter (`?city_id=7`).
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]


# An instant as a query filter (`?since=2027-05-20T10:00:00Z`): RFC 3339, offset
# required. Pydantic alone would also read `0.5` as seconds after 1970 and a bare
# local time as nobody's time; both are 422.
INSTANT = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3])"
    r":[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_INSTANT = re.compile(INSTANT)


def _instant(value: Any) -> datetime:
    text = str(value)
    try:
        if not _INSTANT.match(text):
            raise ValueError
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("use a date and time with a UTC offset, e.g. 2027-05-20T10:00:00Z "
                         "or 2027-05-20T13:00:00+03:00") from None


Instant = Annotated[
    datetime,
    PlainValidator(_instant, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": INSTANT,
                    "examples": ["2027-05-20T10:00:00Z"]}),
]


# Dates and times in a body are ISO 8601 text, as the schema says; Pydantic would
# also take a number (`1800000000`, `"0.5"`) as seconds after 1970.
_NUMBER = re.compile(r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$")


def _iso_text(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("use ISO 8601 text (2027-05-20 or 2027-05-20T10:00), not a number")
    return value


IsoText = BeforeValidator(_iso_text)
BirthDate = Annotated[date, IsoText]
