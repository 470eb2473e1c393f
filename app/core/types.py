"""Field types shared by the API schemas of several domains."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, Field

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
