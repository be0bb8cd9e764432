"""HubSpot's CRM v3/v4 batch APIs through hubspot-api-client: contacts and deals upserted by a unique
property (at most 100 a request), customers associated with their partner, deals with their customer."""

from __future__ import annotations

from typing import Any

from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicDefaultAssociationMultiPost, PublicDefaultAssociationMultiPost
from hubspot.crm.associations.v4.models import PublicObjectId
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInputUpsert as ContactBatch
from hubspot.crm.contacts import SimplePublicObjectBatchInputUpsert as ContactInput
from hubspot.crm.deals import BatchInputSimplePublicObjectBatchInputUpsert as DealBatch
from hubspot.crm.deals import SimplePublicObjectBatchInputUpsert as DealInput

from partnerloop.integrations.hubspot.rules import BATCH, ID_PROPERTY

TIMEOUT_S = 20


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[start : start + BATCH] for start in range(0, len(items), BATCH)]


class Crm:
    def __init__(self, host: str, token: str) -> None:
        self.api = HubSpot(access_token=token, host=host)

    def upsert_contacts(self, id_property: str, records: list[dict[str, Any]]) -> dict[str, str]:
        """Upsert contacts by `id_property`; returns that property's value -> HubSpot's contact id."""
        ids: dict[str, str] = {}
        for chunk in _chunks(records):
            inputs = [ContactInput(id_property=id_property, id=str(record[id_property]), properties=record)
                      for record in chunk]  # fmt: skip
            answer = self.api.crm.contacts.batch_api.upsert(ContactBatch(inputs=inputs), _request_timeout=TIMEOUT_S)
            ids.update(_ids_of(answer, id_property))
        return ids

    def upsert_deals(self, records: list[dict[str, Any]]) -> dict[str, str]:
        ids: dict[str, str] = {}
        for chunk in _chunks(records):
            inputs = [DealInput(id_property=ID_PROPERTY, id=str(record[ID_PROPERTY]), properties=record)
                      for record in chunk]  # fmt: skip
            answer = self.api.crm.deals.batch_api.upsert(DealBatch(inputs=inputs), _request_timeout=TIMEOUT_S)
            ids.update(_ids_of(answer, ID_PROPERTY))
        return ids

    def associate(self, from_type: str, to_type: str, pairs: list[tuple[str, str]]) -> None:
        """HubSpot's default association between each pair of (from id, to id)."""
        for chunk in _chunks(pairs):
            inputs = [PublicDefaultAssociationMultiPost(_from=PublicObjectId(id=one), to=PublicObjectId(id=other))
                      for one, other in chunk]  # fmt: skip
            self.api.crm.associations.v4.batch_api.create_default(
                from_type, to_type, BatchInputPublicDefaultAssociationMultiPost(inputs=inputs),
                _request_timeout=TIMEOUT_S,
            )  # fmt: skip


def _ids_of(answer: Any, id_property: str) -> dict[str, str]:
    ids = {}
    for result in answer.results or []:
        value = (result.properties or {}).get(id_property)
        if value:
            ids[str(value).lower() if id_property == "email" else str(value)] = str(result.id)
    return ids
