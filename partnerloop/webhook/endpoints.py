from __future__ import annotations

from fastapi import APIRouter, Body, Query, Response

from partnerloop.deps import Api
from partnerloop.webhook import service
from partnerloop.webhook.catalogue import EVENT_TYPES
from partnerloop.webhook.schemas import (
    DeliveryList,
    DeliveryOut,
    EndpointIn,
    EndpointList,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
    EventTypeList,
    EventTypeOut,
    TestEventIn,
)

router = APIRouter(prefix="/api/v1/webhook-endpoints", tags=["webhooks"])
catalogue_router = APIRouter(prefix="/api/v1/webhook-event-types", tags=["webhooks"])


@router.post("", status_code=201)
def create_endpoint(body: EndpointIn, api: Api) -> EndpointWithSecret:
    endpoint, secret = service.create_endpoint(api.session, api.program, body)
    return service.with_secret(endpoint, secret)


@router.get("")
def list_endpoints(api: Api, cursor: str | None = None, limit: int = Query(default=50, ge=1, le=100)) -> EndpointList:
    endpoints, next_cursor = service.list_endpoints(api.session, api.program, cursor=cursor, limit=limit)
    return EndpointList(data=[service.endpoint_out(endpoint) for endpoint in endpoints], next_cursor=next_cursor)


@router.get("/{endpoint_id}")
def get_endpoint(endpoint_id: str, api: Api) -> EndpointOut:
    return service.endpoint_out(service.get_endpoint(api.session, api.program, endpoint_id))


@router.patch("/{endpoint_id}")
def patch_endpoint(endpoint_id: str, body: EndpointPatch, api: Api) -> EndpointOut:
    return service.endpoint_out(service.update_endpoint(api.session, api.program, endpoint_id, body))


@router.delete("/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: str, api: Api) -> Response:
    service.delete_endpoint(api.session, api.program, endpoint_id)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret")
def rotate_secret(endpoint_id: str, api: Api) -> EndpointWithSecret:
    endpoint, secret = service.rotate_secret(api.session, api.program, endpoint_id)
    return service.with_secret(endpoint, secret)


@router.post("/{endpoint_id}/test", status_code=202)
def send_test(endpoint_id: str, api: Api, body: TestEventIn | None = Body(default=None)) -> DeliveryOut:
    delivery = service.send_test(api.session, api.program, endpoint_id, body.event_type if body else None)
    return service.get_delivery_out(api.session, api.program, endpoint_id, delivery.id)


@router.get("/{endpoint_id}/deliveries")
def list_deliveries(
    endpoint_id: str,
    api: Api,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=100),
) -> DeliveryList:
    data, next_cursor = service.list_deliveries(
        api.session, api.program, endpoint_id, status=status, cursor=cursor, limit=limit
    )
    return DeliveryList(data=data, next_cursor=next_cursor)


@router.get("/{endpoint_id}/deliveries/{delivery_id}")
def get_delivery(endpoint_id: str, delivery_id: str, api: Api) -> DeliveryOut:
    return service.get_delivery_out(api.session, api.program, endpoint_id, delivery_id)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/retry", status_code=202)
def retry_delivery(endpoint_id: str, delivery_id: str, api: Api) -> DeliveryOut:
    service.retry_delivery(api.session, api.program, endpoint_id, delivery_id)
    return service.get_delivery_out(api.session, api.program, endpoint_id, delivery_id)


@catalogue_router.get("")
def list_event_types(_api: Api) -> EventTypeList:
    return EventTypeList(
        data=[
            EventTypeOut(type=event.type, description=event.description, resource=event.resource, example=event.example)
            for event in EVENT_TYPES
        ]
    )
