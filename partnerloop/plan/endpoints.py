from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()  # SCAFFOLD: filled by its domain's work
