"""CSV exports for sending money by hand (PayPal Payouts bulk file, Wise batch file), partner statements
and the yearly earnings report (1099-NEC threshold)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.kit import spreadsheet
from partnerloop.kit.errors import InvalidInput
from partnerloop.models import Program
from partnerloop.partner import service as partner_service
from partnerloop.payout import repository
from partnerloop.payout.rules import Delivery, PayoutStatus, format_amount, over_1099_threshold
from partnerloop.payout.schemas import StatementLine, StatementPayout, YearlyPartner, YearlyReport
from partnerloop.payout.service.methods import method_details
from partnerloop.payout.service.run import get_run, payout_out


class UnknownExportFormat(InvalidInput):
    pass


class ExportNeedsOneCurrency(InvalidInput):
    pass


def export_run(
    session: Session, settings: Settings, program: Program, run_id: str, export_format: str, currency: str | None = None
) -> str:
    """The run's open payouts of that method waiting for CSV as the provider's bulk file (payouts sent by
    API are not in it: paying them by hand too would pay twice)."""
    if export_format not in ("paypal", "wise"):
        raise UnknownExportFormat(f"Unknown export format '{export_format}': use paypal or wise.")
    run = get_run(session, program, run_id)
    payouts = [
        payout
        for payout in repository.payouts_of_run(session, run.id, method=export_format)
        if PayoutStatus(payout.status).is_open
        and payout.delivery == Delivery.CSV
        and (currency is None or payout.currency == currency.lower())
    ]
    methods = repository.methods_of(session, program.id, [payout.partner_id for payout in payouts])
    out = io.StringIO()
    writer = spreadsheet.writer(out, lineterminator="\r\n")
    if export_format == "paypal":
        currencies = {payout.currency for payout in payouts}
        if len(currencies) > 1:
            raise ExportNeedsOneCurrency(
                f"A PayPal bulk file holds one currency; this run pays {', '.join(sorted(c.upper() for c in currencies))}: "
                f"add ?currency=."
            )
        # PayPal Payouts web upload: no header; recipient, amount, currency, customer id (≤ 30), note, wallet.
        for payout in payouts:
            details = method_details(settings, methods[payout.partner_id])
            writer.writerow(
                [
                    details["email"],
                    format_amount(payout.amount, payout.currency),
                    payout.currency.upper(),
                    payout.id,
                    f"{program.name} payout",
                    "PAYPAL",
                ]
            )
        return out.getvalue()
    # Wise batch, "send to bank accounts" template: a header row, one transfer per row.
    writer.writerow(
        [
            "name",
            "recipientEmail",
            "paymentReference",
            "receiverType",
            "amountCurrency",
            "amount",
            "sourceCurrency",
            "targetCurrency",
            "IBAN",
            "BIC",
            "accountNumber",
            "routingNumber",
        ]
    )
    for payout in payouts:
        details = method_details(settings, methods[payout.partner_id])
        writer.writerow(
            [
                details.get("account_holder_name", ""),
                details.get("email") or "",
                f"Payout {payout.id[-10:]}",
                details.get("recipient_type", "PRIVATE"),
                "target",
                format_amount(payout.amount, payout.currency),
                program.currency.upper(),
                payout.currency.upper(),
                details.get("iban") or "",
                details.get("bic") or "",
                details.get("account_number") or "",
                details.get("routing_number") or "",
            ]
        )
    return out.getvalue()


def statement(session: Session, program: Program, partner_id: str) -> list[StatementPayout]:
    """The partner's payouts, oldest first, each with the commissions inside it."""
    partner_service.get_partner(session, program, partner_id)
    result = []
    for payout in repository.payouts_of_partner(session, program.id, partner_id):
        lines = [
            StatementLine(
                commission_id=commission.id,
                kind=commission.kind,
                earnings_amount=commission.earnings_amount,
                earnings_currency=commission.earnings_currency,
                explanation=commission.explanation,
                occurred_at=commission.occurred_at,
            )
            for commission in repository.commissions_of_payout(session, payout.id)
        ]
        result.append(StatementPayout(payout=payout_out(payout), commissions=lines))
    return result


def statement_csv(session: Session, program: Program, partner_id: str) -> str:
    out = io.StringIO()
    writer = spreadsheet.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["payout_id", "payout_status", "payout_date", "payout_amount", "payout_currency", "method", "reference",
         "commission_id", "kind", "earnings", "earnings_currency", "occurred_at", "explanation"]
    )  # fmt: skip
    for entry in statement(session, program, partner_id):
        payout = entry.payout
        date = (payout.paid_at or payout.created_at or datetime.now(UTC)).date().isoformat()
        head = [payout.id, payout.status, date, format_amount(payout.amount, payout.currency), payout.currency.upper(),
                payout.method, payout.provider_reference or ""]  # fmt: skip
        for line in entry.commissions:
            writer.writerow(
                [*head, line.commission_id, line.kind, format_amount(line.earnings_amount, line.earnings_currency),
                 line.earnings_currency.upper(), line.occurred_at.isoformat() if line.occurred_at else "", line.explanation]
            )  # fmt: skip
    return out.getvalue()


def yearly_report(session: Session, program: Program, year: int) -> YearlyReport:
    """What each partner was paid in the calendar year; USD totals of $600 or more flagged for a 1099-NEC."""
    if year < 2000 or year > 2100:
        raise InvalidInput("year must be between 2000 and 2100.")
    start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    rows = repository.paid_in_year(session, program.id, start, end)
    partners = repository.partners_by_id(session, sorted({row[0] for row in rows}))
    methods = repository.methods_of(session, program.id)
    data = []
    for partner_id, currency, amount, count in rows:
        partner = partners[partner_id]
        method = methods.get(partner_id)
        form = (method.tax_masked or {}).get("form") if method is not None else None
        data.append(
            YearlyPartner(
                partner_id=partner_id,
                name=partner.name,
                email=partner.email,
                currency=currency,
                paid_amount=amount,
                payouts=count,
                tax_form=form,
                # 1099-NEC goes to US persons: a W-8BEN on file means a foreign partner, never flagged.
                over_1099_threshold=currency == "usd" and form != "w8ben" and over_1099_threshold(amount),
            )
        )
    return YearlyReport(year=year, data=data)
