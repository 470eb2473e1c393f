"""HTTP endpoints: the health of a city's twinnings, and the network's dormant ones."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.db import TransactionalRoute

router = APIRouter(prefix="/api/v1", tags=["twins"], route_class=TransactionalRoute)
