"""Rule conditions: the fields a condition may test, which operators fit them, and evaluation (pure).

A condition holds or not; a value the event does not have (a customer without a country, a sale
without a product) makes every operator false except `neq` and `not_in`, which hold.
Country and currency values compare without regard to case; everything else compares exactly.
`partner.group` matches the partner's group by id or by name.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from partnerloop.kit.money import format_money, is_currency

METADATA_PREFIX = "customer.metadata."
_METADATA_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
MAX_LIST = 100


class _Missing:
    def __repr__(self) -> str:
        return "missing"


MISSING: Final = _Missing()

# field -> (value type, events it applies to)
FIELDS: dict[str, tuple[str, frozenset[str]]] = {
    "product_id": ("text", frozenset({"sale"})),
    "coupon_code": ("text", frozenset({"sale"})),
    "sale.amount": ("amount", frozenset({"sale"})),
    "sale.type": ("sale_type", frozenset({"sale"})),
    "sale.currency": ("currency", frozenset({"sale"})),
    "customer.country": ("country", frozenset({"sale", "lead"})),
    "partner.group": ("text", frozenset({"sale", "lead", "click"})),
    "partner.country": ("country", frozenset({"sale", "lead", "click"})),
}
_METADATA = ("any", frozenset({"sale", "lead"}))
NUMBER_OPS = frozenset({"gt", "gte", "lt", "lte"})
TEXT_OPS = frozenset({"contains", "starts_with"})
LIST_OPS = frozenset({"in", "not_in"})


def field_spec(name: str) -> tuple[str, frozenset[str]] | None:
    """(value type, events) of a condition field, or None for a field the engine does not know."""
    if name.startswith(METADATA_PREFIX):
        key = name.removeprefix(METADATA_PREFIX)
        return _METADATA if _METADATA_KEY.match(key) else None
    return FIELDS.get(name)


def known_fields() -> str:
    return ", ".join([*FIELDS, METADATA_PREFIX + "<key>"])


def _is_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _scalar_problem(kind: str, value: object) -> str | None:
    """Why `value` cannot be compared with a field of type `kind`, or None."""
    if kind == "amount":
        return None if _is_number(value) else "needs a whole number of minor units"
    if kind == "sale_type":
        return None if value in ("new", "recurring") else "needs 'new' or 'recurring'"
    if kind == "country":
        ok = isinstance(value, str) and len(value) == 2 and value.isalpha()
        return None if ok else "needs a two-letter country code"
    if kind == "currency":
        return None if isinstance(value, str) and is_currency(value) else "needs an ISO 4217 currency code"
    if kind == "text":
        return None if isinstance(value, str) and value != "" else "needs a text value"
    ok = (isinstance(value, str) and value != "") or isinstance(value, int)  # any: text, number or boolean
    return None if ok else "needs a text, number or boolean value"


def condition_problem(event: str, name: str, op: str, value: Any) -> str | None:
    """Why this condition cannot be evaluated on a rule for `event` (a phrase), or None."""
    spec = field_spec(name)
    if spec is None:
        return f"unknown field '{name}' (fields: {known_fields()})"
    kind, events = spec
    if event not in events:
        return f"field '{name}' does not apply to a {event} rule"
    if op in NUMBER_OPS:
        if kind not in ("amount", "any"):
            return f"operator '{op}' does not apply to field '{name}'"
        return None if _is_number(value) else f"operator '{op}' needs a number"
    if op in TEXT_OPS:
        if kind in ("amount", "sale_type"):
            return f"operator '{op}' does not apply to field '{name}'"
        return None if isinstance(value, str) and value != "" else f"operator '{op}' needs a text value"
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            return f"operator '{op}' needs a non-empty list"
        if len(value) > MAX_LIST:
            return f"operator '{op}' takes at most {MAX_LIST} values"
        for index, item in enumerate(value):
            problem = _scalar_problem(kind, item)
            if problem is not None:
                return f"value[{index}] {problem}"
        return None
    problem = _scalar_problem(kind, value)  # eq, neq
    return None if problem is None else f"operator '{op}' {problem}"


@dataclass(frozen=True)
class Subject:
    """What conditions look at: the event's facts as plain values (None when unknown)."""

    product_id: str | None = None
    coupon_code: str | None = None
    sale_amount: int | None = None
    sale_type: str | None = None
    sale_currency: str | None = None
    customer_country: str | None = None
    customer_metadata: Mapping[str, Any] = field(default_factory=dict)
    partner_group_id: str | None = None
    partner_group_name: str | None = None
    partner_country: str | None = None

    def values(self) -> dict[str, Any]:
        """The plain fields by condition name (metadata is looked up on its own)."""
        return {
            "product_id": self.product_id,
            "coupon_code": self.coupon_code,
            "sale.amount": self.sale_amount,
            "sale.type": self.sale_type,
            "sale.currency": self.sale_currency,
            "customer.country": self.customer_country,
            "partner.group": self.partner_group_name,
            "partner.country": self.partner_country,
        }


def actual_value(subject: Subject, name: str, values: Mapping[str, Any] | None = None) -> Any:
    """The subject's value for a condition field (MISSING when it has none)."""
    if name.startswith(METADATA_PREFIX):
        value = subject.customer_metadata.get(name[len(METADATA_PREFIX) :], MISSING)
    else:
        value = (values if values is not None else subject.values()).get(name)
    return MISSING if value is None else value


def _equal(name: str, actual: Any, expected: Any, subject: Subject) -> bool:
    if name == "partner.group":
        if subject.partner_group_id is not None and expected == subject.partner_group_id:
            return True
        return isinstance(actual, str) and isinstance(expected, str) and actual.lower() == expected.lower()
    if isinstance(actual, str) and isinstance(expected, str):
        if name.endswith("country") or name == "sale.currency":
            return actual.lower() == expected.lower()
        return actual == expected
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return bool(_is_number(actual) and _is_number(expected) and actual == expected)


Check = Callable[[Subject, Mapping[str, Any]], tuple[bool, Any]]


def compile_condition(name: str, op: str, expected: Any) -> Check:
    """A condition as a function of (subject, subject.values()) -> (holds, the value seen or None).

    Plans are compiled once and evaluated for every event: the common cases (exact text, a set of
    texts, numbers) skip the general comparison.
    """
    metadata_key = name[len(METADATA_PREFIX) :] if name.startswith(METADATA_PREFIX) else None
    missing_holds = op in ("neq", "not_in")
    exact_text = name in ("product_id", "coupon_code", "sale.type")

    def lookup(subject: Subject, values: Mapping[str, Any]) -> Any:
        found = subject.customer_metadata.get(metadata_key) if metadata_key is not None else values.get(name)
        return found

    if exact_text and op in ("eq", "neq", "in", "not_in"):
        wanted = frozenset(expected) if op in LIST_OPS else frozenset([expected])
        positive = op in ("eq", "in")

        def check_text(subject: Subject, values: Mapping[str, Any]) -> tuple[bool, Any]:
            actual = lookup(subject, values)
            if actual is None:
                return missing_holds, None
            return (actual in wanted) is positive, actual

        return check_text
    if op in NUMBER_OPS:
        compare: Callable[[Any, Any], bool] = {
            "gt": operator.gt,
            "gte": operator.ge,
            "lt": operator.lt,
            "lte": operator.le,
        }[op]

        def check_number(subject: Subject, values: Mapping[str, Any]) -> tuple[bool, Any]:
            actual = lookup(subject, values)
            if actual is None:
                return False, None
            ok = isinstance(actual, int | float) and not isinstance(actual, bool) and compare(actual, expected)
            return ok, actual

        return check_number

    def check_general(subject: Subject, values: Mapping[str, Any]) -> tuple[bool, Any]:
        actual = lookup(subject, values)
        if actual is None:
            return missing_holds, None
        if op == "eq":
            result = _equal(name, actual, expected, subject)
        elif op == "neq":
            result = not _equal(name, actual, expected, subject)
        elif op == "in":
            result = any(_equal(name, actual, item, subject) for item in expected)
        elif op == "not_in":
            result = not any(_equal(name, actual, item, subject) for item in expected)
        elif op == "contains":
            result = isinstance(actual, str | list) and expected in actual
        else:  # starts_with
            result = isinstance(actual, str) and actual.startswith(expected)
        return result, actual

    return check_general


def holds(subject: Subject, name: str, op: str, expected: Any) -> tuple[bool, Any]:
    """(does the condition hold, the value it looked at — None when missing)."""
    return compile_condition(name, op, expected)(subject, subject.values())


_OP_TEXT = {
    "eq": "=",
    "neq": "≠",
    "in": "in",
    "not_in": "not in",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "contains": "contains",
    "starts_with": "starts with",
}


def _value_text(name: str, value: Any, currency: str) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value_text(name, item, currency) for item in value) + "]"
    if name == "sale.amount" and _is_number(value):
        return format_money(value, currency)
    return str(value)


def condition_text(name: str, op: str, value: Any, currency: str) -> str:
    """'product_id in [team, enterprise]', 'sale.amount ≥ 100.00 USD'."""
    return f"{name} {_OP_TEXT.get(op, op)} {_value_text(name, value, currency)}"
