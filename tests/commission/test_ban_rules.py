"""What a partner's ban does to each of their commissions, as tables (pure: commission/rules)."""

from __future__ import annotations

import pytest

from partnerloop.commission.rules import CommissionKind, CommissionStatus, UnpaidCommission, ban_moves, status_on_ban
from partnerloop.partner.rules import BanCommissions

S = CommissionStatus
K = CommissionKind
REJECT, HOLD = BanCommissions.REJECT, BanCommissions.HOLD

ON_BAN = [
    pytest.param(S.PENDING, 2000, REJECT, S.REJECTED, id="a pending commission is rejected by a ban that rejects"),
    pytest.param(S.ON_HOLD, 2000, REJECT, S.REJECTED, id="a held commission is rejected by a ban that rejects"),
    pytest.param(S.PENDING, 2000, HOLD, S.ON_HOLD, id="a pending commission is held by a ban that holds"),
    pytest.param(S.ON_HOLD, 2000, HOLD, S.ON_HOLD, id="a held commission stays held by a ban that holds"),
    pytest.param(S.APPROVED, 2000, REJECT, S.ON_HOLD, id="an approved unpaid commission is held by a ban that rejects"),
    pytest.param(S.APPROVED, 2000, HOLD, S.ON_HOLD, id="an approved unpaid commission is held by a ban that holds"),
    pytest.param(S.PENDING, -1500, REJECT, S.ON_HOLD, id="a pending debt is held, not forgiven, by a ban that rejects"),
    pytest.param(S.PENDING, 0, REJECT, S.REJECTED, id="a pending commission of nothing is rejected"),
    pytest.param(S.PAID, 2000, REJECT, None, id="a paid commission is never touched by a ban that rejects"),
    pytest.param(S.PAID, 2000, HOLD, None, id="a paid commission is never touched by a ban that holds"),
    pytest.param(S.REJECTED, 2000, HOLD, None, id="a rejected commission stays rejected"),
    pytest.param(S.REVERSED, 2000, REJECT, None, id="a reversed commission stays reversed"),
]


@pytest.mark.parametrize(("status", "earnings", "choice", "expected"), ON_BAN)
def test_status_on_ban(status: S, earnings: int, choice: BanCommissions, expected: S | None) -> None:
    assert status_on_ban(status, earnings, choice) is expected


def _row(id: str, status: S, kind: K = K.SALE, earnings: int = 2000, reverses: str = "") -> UnpaidCommission:
    return UnpaidCommission(id=id, kind=kind, status=status, earnings_amount=earnings, reverses_id=reverses)


MOVES = [
    pytest.param(
        [_row("sale", S.PENDING), _row("refund", S.PENDING, K.REVERSAL, -500, "sale")],
        REJECT,
        {"sale": S.REJECTED, "refund": S.REJECTED},
        id="the refund of a rejected commission is rejected with it",
    ),
    pytest.param(
        [_row("sale", S.APPROVED), _row("claw", S.APPROVED, K.CLAWBACK, -500, "sale")],
        REJECT,
        {"sale": S.ON_HOLD, "claw": S.ON_HOLD},
        id="the clawback of a held approved commission is held with it",
    ),
    pytest.param(
        [_row("refund", S.APPROVED, K.REVERSAL, -500, "paid-sale")],
        REJECT,
        {},
        id="the refund of a paid commission stays approved, for the next payout to net",
    ),
    pytest.param(
        [_row("sale", S.ON_HOLD), _row("refund", S.ON_HOLD, K.REVERSAL, -500, "sale")],
        HOLD,
        {},
        id="held commissions of a ban that holds do not move",
    ),
    pytest.param(
        [_row("lead", S.PENDING, K.LEAD, 500), _row("bonus", S.APPROVED, K.BONUS, 10000)],
        HOLD,
        {"lead": S.ON_HOLD, "bonus": S.ON_HOLD},
        id="every kind of original is settled alike",
    ),
    pytest.param([], REJECT, {}, id="a partner with no unpaid commission has nothing to move"),
]


@pytest.mark.parametrize(("rows", "choice", "expected"), MOVES)
def test_ban_moves(rows: list[UnpaidCommission], choice: BanCommissions, expected: dict[str, S]) -> None:
    assert ban_moves(rows, choice) == expected
