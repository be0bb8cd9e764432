"""The resource library and the welcome kit, as managers curate them and partners read them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from partnerloop.kit.errors import AppError, NotFound
from partnerloop.models import Program, Resource, WelcomeKit
from partnerloop.partner_portal import groups, repository
from partnerloop.partner_portal.rules import ResourceKind, is_web_url, resource_visible

MAX_TEXT = 20_000


class ResourceError(AppError):
    status_code = 422


class ResourceNotFound(NotFound):
    pass


@dataclass(frozen=True)
class ResourceIn:
    kind: str
    title: str
    description: str = ""
    url: str = ""
    body: str = ""
    group_ids: tuple[str, ...] = ()


def _checked(session: Session, program: Program, body: ResourceIn) -> ResourceIn:
    if body.kind not in ResourceKind.__members__.values():
        raise ResourceError(f"A resource is one of: {', '.join(kind.label for kind in ResourceKind)}.")
    kind = ResourceKind(body.kind)
    title, url, text = body.title.strip(), body.url.strip(), body.body.strip()
    if not title or len(title) > 200:
        raise ResourceError("A resource needs a title of at most 200 characters.")
    if url and (not is_web_url(url) or len(url) > 2000):
        raise ResourceError("The link must be a web address starting with https:// or http://.")
    if kind.needs_url and not url:
        raise ResourceError(f"A {kind.label.lower()} is a link: give its web address.")
    if not url and not text:
        raise ResourceError("Give the resource a link or a text (swipe copy, a guide).")
    if len(text) > MAX_TEXT or len(body.description) > MAX_TEXT:
        raise ResourceError(f"Texts take at most {MAX_TEXT} characters.")
    known = set(groups.group_names(session, program.id))
    unknown = [group_id for group_id in body.group_ids if group_id not in known]
    if unknown:
        raise ResourceError("Some of the chosen groups do not exist in this program.")
    return ResourceIn(kind.value, title, body.description.strip(), url, text, tuple(dict.fromkeys(body.group_ids)))


def add_resource(session: Session, program: Program, body: ResourceIn) -> Resource:
    checked = _checked(session, program, body)
    resource = Resource(
        program_id=program.id,
        kind=checked.kind,
        title=checked.title,
        description=checked.description,
        url=checked.url or None,
        body=checked.body or None,
        group_ids=list(checked.group_ids),
        position=repository.next_position(session, Resource, program.id),
    )
    session.add(resource)
    session.flush()
    return resource


def resources(session: Session, program_id: str) -> list[Resource]:
    """Every resource of the program, in the manager's order."""
    return repository.resources(session, program_id)


def find_resource(session: Session, program_id: str, resource_id: str) -> Resource | None:
    return repository.resource(session, program_id, resource_id)


def get_resource(session: Session, program: Program, resource_id: str) -> Resource:
    resource = repository.resource(session, program.id, resource_id)
    if resource is None:
        raise ResourceNotFound("No such resource in this program.")
    return resource


def update_resource(session: Session, program: Program, resource_id: str, body: ResourceIn) -> Resource:
    resource = get_resource(session, program, resource_id)
    checked = _checked(session, program, body)
    resource.kind, resource.title, resource.description = checked.kind, checked.title, checked.description
    resource.url, resource.body = checked.url or None, checked.body or None
    resource.group_ids = list(checked.group_ids)
    session.flush()
    return resource


def delete_resource(session: Session, program: Program, resource_id: str) -> None:
    session.delete(get_resource(session, program, resource_id))
    session.flush()


def resources_for_partner(session: Session, program_id: str, group_id: str | None) -> list[Resource]:
    """The library as a partner in `group_id` sees it."""
    return [item for item in repository.resources(session, program_id) if resource_visible(item.group_ids, group_id)]


@dataclass(frozen=True)
class KitIn:
    welcome_message: str
    guidelines: str
    how_to_promote: str


def welcome_kit(session: Session, program_id: str) -> KitIn:
    kit = repository.welcome_kit(session, program_id)
    return KitIn("", "", "") if kit is None else KitIn(kit.welcome_message, kit.guidelines, kit.how_to_promote)


def save_welcome_kit(session: Session, program: Program, body: KitIn) -> WelcomeKit:
    if max(len(body.welcome_message), len(body.guidelines), len(body.how_to_promote)) > MAX_TEXT:
        raise ResourceError(f"Each part of the welcome kit takes at most {MAX_TEXT} characters.")
    kit = repository.welcome_kit(session, program.id)
    if kit is None:
        kit = WelcomeKit(program_id=program.id)
        session.add(kit)
    kit.welcome_message = body.welcome_message.strip()
    kit.guidelines = body.guidelines.strip()
    kit.how_to_promote = body.how_to_promote.strip()
    session.flush()
    return kit
