"""HTTP endpoints: a city's candidates, and its searches for a twin."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.db import TransactionalRoute

router = APIRouter(prefix="/api/v1", tags=["twins"], route_class=TransactionalRoute)
