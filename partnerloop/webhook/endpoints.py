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


@router.post("", summary="Create a webhook endpoint", status_code=201)
def create_endpoint(body: EndpointIn, api: Api) -> EndpointWithSecret:
    endpoint, secret = service.create_endpoint(api.session, api.program, body)
    return service.with_secret(endpoint, secret)


@router.get("", summary="List webhook endpoints")
def list_endpoints(api: Api, cursor: str | None = None, limit: int = Query(default=50, ge=1, le=100)) -> EndpointList:
    endpoints, next_cursor = service.list_endpoints(api.session, api.program, cursor=cursor, limit=limit)
    return EndpointList(data=[service.endpoint_out(endpoint) for endpoint in endpoints], next_cursor=next_cursor)


@router.get("/{endpoint_id}", summary="Get a webhook endpoint")
def get_endpoint(endpoint_id: str, api: Api) -> EndpointOut:
    return service.endpoint_out(service.get_endpoint(api.session, api.program, endpoint_id))


@router.patch("/{endpoint_id}", summary="Change a webhook endpoint")
def patch_endpoint(endpoint_id: str, body: EndpointPatch, api: Api) -> EndpointOut:
    return service.endpoint_out(service.update_endpoint(api.session, api.program, endpoint_id, body))


@router.delete("/{endpoint_id}", summary="Delete a webhook endpoint", status_code=204)
def delete_endpoint(endpoint_id: str, api: Api) -> Response:
    service.delete_endpoint(api.session, api.program, endpoint_id)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", summary="Rotate a webhook endpoint's secret")
def rotate_secret(endpoint_id: str, api: Api) -> EndpointWithSecret:
    endpoint, secret = service.rotate_secret(api.session, api.program, endpoint_id)
    return service.with_secret(endpoint, secret)


@router.post("/{endpoint_id}/test", summary="Send a test event to a webhook endpoint", status_code=202)
def send_test(endpoint_id: str, api: Api, body: TestEventIn | None = Body(default=None)) -> DeliveryOut:
    delivery = service.send_test(api.session, api.program, endpoint_id, body.event_type if body else None)
    return service.get_delivery_out(api.session, api.program, endpoint_id, delivery.id)


@router.get("/{endpoint_id}/deliveries", summary="List a webhook endpoint's deliveries")
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


@router.get("/{endpoint_id}/deliveries/{delivery_id}", summary="Get a webhook delivery")
def get_delivery(endpoint_id: str, delivery_id: str, api: Api) -> DeliveryOut:
    return service.get_delivery_out(api.session, api.program, endpoint_id, delivery_id)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/retry", summary="Retry a webhook delivery", status_code=202)
def retry_delivery(endpoint_id: str, delivery_id: str, api: Api) -> DeliveryOut:
    service.retry_delivery(api.session, api.program, endpoint_id, delivery_id)
    return service.get_delivery_out(api.session, api.program, endpoint_id, delivery_id)


@catalogue_router.get("", summary="List webhook event types")
def list_event_types(_api: Api) -> EventTypeList:
    return EventTypeList(
        data=[
            EventTypeOut(type=event.type, description=event.description, resource=event.resource, example=event.example)
            for event in EVENT_TYPES
        ]
    )
