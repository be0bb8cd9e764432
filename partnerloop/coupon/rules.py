"""Coupon codes (pure): their shape and the case-insensitive key they are unique by."""

from __future__ import annotations

import re

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,49}$")


def code_key(code: str) -> str:
    """The form codes are compared in: `Spring20`, `SPRING20` and ` spring20 ` are one code."""
    return code.strip().lower()


def code_problem(code: str) -> str | None:
    """Why `code` cannot be a coupon code (Stripe accepts letters, digits, '-' and '_'), or None."""
    if not CODE_PATTERN.match(code.strip()):
        return f"'{code}' is not a usable code: 2 to 50 letters, digits, '-' or '_', starting with a letter or digit."
    return None
