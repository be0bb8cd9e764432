"""QR codes of short links, as SVG or PNG (segno: a well-kept, dependency-free QR encoder)."""

from __future__ import annotations

import io
from typing import Literal

import segno
from fastapi import APIRouter, Query, Response

from partnerloop.deps import Api
from partnerloop.link import service

router = APIRouter(prefix="/api/v1/links", tags=["links"])

QrKind = Literal["svg", "png"]
_MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def qr_image(url: str, kind: QrKind, scale: int = 8, border: int = 4) -> bytes:
    """The QR code of `url` (error correction M) as SVG or PNG bytes."""
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=scale, border=border, xmldecl=False, svgns=True)
    else:
        code.save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def _qr(api: Api, link_id: str, kind: QrKind, scale: int, border: int) -> Response:
    link = service.get_link(api.session, api.program, link_id)
    short_url = service.link_out(link, 0, api.settings).short_url
    headers = {"Cache-Control": "private, max-age=3600", "Content-Disposition": f'inline; filename="{link.key}.{kind}"'}
    return Response(qr_image(short_url, kind, scale, border), media_type=_MEDIA_TYPES[kind], headers=headers)


@router.get("/{link_id}/qr.svg", summary="Get a link's QR code as SVG", response_class=Response)
def link_qr_svg(
    link_id: str, api: Api, scale: int = Query(default=8, ge=1, le=40), border: int = Query(default=4, ge=0, le=20)
) -> Response:
    """The link's short URL as an SVG QR code."""
    return _qr(api, link_id, "svg", scale, border)


@router.get("/{link_id}/qr.png", summary="Get a link's QR code as PNG", response_class=Response)
def link_qr_png(
    link_id: str, api: Api, scale: int = Query(default=8, ge=1, le=40), border: int = Query(default=4, ge=0, le=20)
) -> Response:
    """The link's short URL as a PNG QR code."""
    return _qr(api, link_id, "png", scale, border)
