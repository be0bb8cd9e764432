from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from partnerloop.deps import Api
from partnerloop.kit.ids import new_id
from partnerloop.payout.schemas import (
    MarkFailedIn,
    MarkPaidIn,
    PayoutList,
    PayoutMethodIn,
    PayoutMethodOut,
    PayoutOut,
    PayoutSettingsIn,
    PayoutSettingsOut,
    RunIn,
    RunOut,
    StatementPayout,
    YearlyReport,
)
from partnerloop.payout.service import export, methods
from partnerloop.payout.service import run as runs

router = APIRouter(prefix="/api/v1", tags=["payouts"])


@router.put("/partners/{partner_id}/payout-method", summary="Set a partner's payout method")
def set_payout_method(partner_id: str, body: PayoutMethodIn, api: Api) -> PayoutMethodOut:
    """PayPal email, Wise bank details, Stripe Connect account or manual; optional W-9 / W-8BEN data.
    Sensitive values are stored encrypted and answered masked."""
    method = methods.set_method(api.session, api.settings, api.program, partner_id, body)
    return methods.method_out(method, api.program)


@router.get("/partners/{partner_id}/payout-method", summary="Get a partner's payout method")
def get_payout_method(partner_id: str, api: Api) -> PayoutMethodOut:
    return methods.method_out(methods.get_method(api.session, api.program, partner_id), api.program)


@router.get("/partners/{partner_id}/statement", summary="Get a partner's statement")
def get_statement(partner_id: str, api: Api) -> list[StatementPayout]:
    return export.statement(api.session, api.program, partner_id)


@router.get("/partners/{partner_id}/statement.csv", summary="Get a partner's statement as CSV")
def get_statement_csv(partner_id: str, api: Api) -> Response:
    body = export.statement_csv(api.session, api.program, partner_id)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="statement-{partner_id}.csv"'},
    )


@router.get("/payouts/settings", summary="Get the payout settings")
def get_payout_settings(api: Api) -> PayoutSettingsOut:
    return methods.settings_out(methods.program_settings(api.session, api.program.id))


@router.patch("/payouts/settings", summary="Change the payout settings")
def patch_payout_settings(body: PayoutSettingsIn, api: Api) -> PayoutSettingsOut:
    return methods.settings_out(methods.update_settings(api.session, api.settings, api.program, body))


@router.post("/payouts/runs", summary="Preview or confirm a payout run")
def create_run(body: RunIn, api: Api) -> RunOut:
    """Preview (writes nothing) or confirm a run. Confirming the same `run_key` twice is 409."""
    if body.preview:
        return runs.preview_run(
            api.session, api.program, cutoff=body.cutoff, run_key=body.run_key, settings=api.settings
        )
    run = runs.confirm_run(
        api.session,
        api.program,
        run_key=body.run_key or f"manual:{new_id()}",
        cutoff=body.cutoff,
        actor=api.actor,
        settings=api.settings,
    )
    return runs.run_out(api.session, run)


@router.get("/payouts/runs/{run_id}", summary="Get a payout run")
def get_run(run_id: str, api: Api) -> RunOut:
    return runs.run_out(api.session, runs.get_run(api.session, api.program, run_id))


@router.get("/payouts/runs/{run_id}/export.csv", summary="Export a payout run as CSV")
def export_run(run_id: str, api: Api, format: str = Query(default="paypal"), currency: str | None = None) -> Response:
    body = export.export_run(api.session, api.settings, api.program, run_id, format, currency)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="payouts-{run_id}-{format}.csv"'},
    )


@router.get("/payouts", summary="List payouts")
def list_payouts(
    api: Api,
    partner_id: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=100),
) -> PayoutList:
    from partnerloop.payout import repository

    rows, next_cursor = repository.list_payouts(
        api.session, api.program.id, partner_id=partner_id, status=status, cursor=cursor, limit=limit
    )
    return PayoutList(data=[runs.payout_out(row) for row in rows], next_cursor=next_cursor)


@router.get("/payouts/reports/yearly", summary="Get the yearly payout report")
def yearly_report(api: Api, year: int = Query(ge=2000, le=2100)) -> YearlyReport:
    return export.yearly_report(api.session, api.program, year)


@router.get("/payouts/{payout_id}", summary="Get a payout")
def get_payout(payout_id: str, api: Api) -> PayoutOut:
    return runs.payout_out(runs.get_payout(api.session, api.program, payout_id))


@router.post("/payouts/{payout_id}/mark-paid", summary="Mark a payout paid")
def mark_paid(payout_id: str, body: MarkPaidIn, api: Api) -> PayoutOut:
    return runs.payout_out(runs.mark_paid(api.session, api.program, payout_id, body.reference))


@router.post("/payouts/{payout_id}/mark-failed", summary="Mark a payout failed")
def mark_failed(payout_id: str, body: MarkFailedIn, api: Api) -> PayoutOut:
    return runs.payout_out(runs.mark_failed(api.session, api.program, payout_id, body.reason, actor=api.actor))


@router.post("/payouts/{payout_id}/cancel", summary="Cancel a payout")
def cancel(payout_id: str, api: Api) -> PayoutOut:
    return runs.payout_out(runs.cancel(api.session, api.program, payout_id, actor=api.actor))


@router.post("/payouts/{payout_id}/retry", summary="Retry a failed payout", status_code=201)
def retry(payout_id: str, api: Api) -> PayoutOut:
    """A new payout with the failed one's commissions (still approved); the failed one stays as it was."""
    return runs.payout_out(runs.retry(api.session, api.program, payout_id, actor=api.actor, settings=api.settings))
