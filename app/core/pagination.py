"""The list envelope every collection endpoint returns."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar, TypeVarTuple, overload

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from app.core.settings import get_settings
from app.core.types import MAX_ID

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, description="Page size; capped by the server.")] = (
        DEFAULT_LIMIT
    ),
    # No list holds more rows than ids fit in; beyond, a number is invalid input
    # (422), not a database overflow.
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> PageParams:
    """A coroutine: no I/O, and so no trip to a worker thread."""
    return PageParams(limit=min(limit, get_settings().max_page_size), offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


@overload
def paginate(session: Session, query: SelectOfScalar[T], page: PageParams
             ) -> tuple[list[T], int]: ...
@overload
def paginate(session: Session, query: Select[*Ts], page: PageParams
             ) -> tuple[list[tuple[*Ts]], int]: ...
def paginate(session: Session, query: Any, page: PageParams) -> tuple[list[Any], int]:
    """Rows of one page (objects, or tuples of a select of several) and the total
    count of the unpaged query."""
    total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    rows = list(session.exec(query.limit(page.limit).offset(page.offset)).all())
    return rows, total
