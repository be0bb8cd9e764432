from __future__ import annotations

from fastapi import APIRouter, Query, Response

from partnerloop.deps import Api
from partnerloop.link import repository, service
from partnerloop.link.schemas import LinkIn, LinkList, LinkOut, LinkPatch

router = APIRouter(prefix="/api/v1/links", tags=["links"])


def _one(api: Api, link_id: str) -> LinkOut:
    link = service.get_link(api.session, api.program, link_id)
    clicks, unique = repository.click_totals(api.session, [link.id]).get(link.id, (0, 0))
    return service.link_out(link, clicks, api.settings, unique)


@router.post("", summary="Create a link", status_code=201)
def create_link(body: LinkIn, api: Api) -> LinkOut:
    link = service.create_link(api.session, api.program, body)
    return service.link_out(link, 0, api.settings)


@router.get("", summary="List links")
def list_links(
    api: Api,
    partner_id: str | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=100),
) -> LinkList:
    links, next_cursor = service.list_links(api.session, api.program, partner_id=partner_id, cursor=cursor, limit=limit)
    counts = repository.click_totals(api.session, [link.id for link in links])
    return LinkList(
        data=[
            service.link_out(link, counts.get(link.id, (0, 0))[0], api.settings, counts.get(link.id, (0, 0))[1])
            for link in links
        ],
        next_cursor=next_cursor,
    )


@router.get("/{link_id}", summary="Get a link")
def get_link(link_id: str, api: Api) -> LinkOut:
    return _one(api, link_id)


@router.patch("/{link_id}", summary="Change a link")
def update_link(link_id: str, body: LinkPatch, api: Api) -> LinkOut:
    service.update_link(api.session, api.program, link_id, body)
    return _one(api, link_id)


@router.delete("/{link_id}", summary="Delete a link", status_code=204)
def delete_link(link_id: str, api: Api) -> Response:
    service.delete_link(api.session, api.program, link_id)
    return Response(status_code=204)
