"""What tracking a lead, a sale or a refund refuses (each answers its class name in the error shape)."""

from __future__ import annotations

from partnerloop.kit.errors import Conflict, InvalidInput, NotFound


class ClickNotFound(NotFound):
    pass


class ReferralCodeNotFound(NotFound):
    pass


class SaleNotFound(NotFound):
    pass


class OccurredInFuture(InvalidInput):
    pass


class InvoiceConflict(Conflict):
    pass


class RefundConflict(Conflict):
    pass


class RefundExceedsSale(Conflict):
    pass


class RefundCurrencyMismatch(Conflict):
    pass
