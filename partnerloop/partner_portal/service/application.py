"""Applications: the public form's settings and questions, applying, and deciding (with the email)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from partnerloop.account import service as account_service
from partnerloop.config import Settings
from partnerloop.kit.errors import AppError, Conflict, NotFound
from partnerloop.kit.time import utc_now
from partnerloop.kit.urls import image_origin
from partnerloop.models import (
    ApplicationAnswer,
    ApplicationForm,
    ApplicationQuestion,
    Enrollment,
    Partner,
    PartnerApplication,
    Program,
    User,
)
from partnerloop.models.partner_portal import DEFAULT_BRAND_COLOR
from partnerloop.notify import service as notify_service
from partnerloop.notify.email import enqueue_email
from partnerloop.partner import service as partner_service
from partnerloop.partner.schemas import PartnerIn
from partnerloop.partner_portal import emails, repository
from partnerloop.partner_portal.rules import (
    Answer,
    ApplicationStatus,
    QuestionKind,
    QuestionSpec,
    check_answers,
    is_country_code,
    is_hex_color,
    is_web_url,
    parse_options,
    status_on_apply,
)
from partnerloop.plan import service as plan_service
from partnerloop.plan.offer import offer_text
from partnerloop.program.service import is_email

MAX_QUESTIONS = 30


class ApplicationError(AppError):
    status_code = 422


class ApplicationInvalid(ApplicationError):
    """The form has mistakes: `field_errors` names them per field."""

    def __init__(self, message: str, field_errors: dict[str, str]) -> None:
        super().__init__(message)
        self.field_errors = field_errors


class ProgramNotFound(NotFound):
    pass


class ApplicationsClosed(Conflict):
    pass


class AlreadyApplied(Conflict):
    pass


class LoginToApply(Conflict):
    """The email has an account: its owner logs in, then applies."""


class ApplicationNotFound(NotFound):
    pass


# ------------------------------------------------------------------------------------ the form


@dataclass(frozen=True)
class FormSettings:
    """An application form's settings, whether or not the program saved any yet."""

    is_open: bool = True
    auto_approve: bool = False
    headline: str = ""
    intro: str = ""
    terms: str = ""
    brand_color: str = DEFAULT_BRAND_COLOR
    logo_url: str = ""

    @property
    def image_origins(self) -> list[str]:
        """The host the page loads the logo from (for its content security policy)."""
        origin = image_origin(self.logo_url)
        return [origin] if origin else []


def offer_words(session: Session, program: Program) -> str | None:
    """What the program's default plan pays, in words, for its application page (None without one)."""
    if program.default_plan_id is None:
        return None
    plan = plan_service.get_plan(session, program, program.default_plan_id)
    return offer_text(plan_service.plan_terms(plan).rules, program.currency)


def application_form(session: Session, program_id: str) -> ApplicationForm | None:
    """The program's application form (its settings and brand), None until a manager saves one."""
    return repository.application_form(session, program_id)


def questions(session: Session, program_id: str) -> list[ApplicationQuestion]:
    """The form's questions, in order."""
    return repository.questions(session, program_id)


def applications(
    session: Session, program_id: str, status: str | None, limit: int = 100
) -> list[repository.ApplicationRow]:
    """Applications with `status` (None: all), newest first, with the partner and the answers."""
    return repository.applications(session, program_id, status, limit)


def form_settings(session: Session, program_id: str) -> FormSettings:
    form = repository.application_form(session, program_id)
    if form is None:
        return FormSettings()
    return FormSettings(
        form.is_open, form.auto_approve, form.headline, form.intro, form.terms, form.brand_color, form.logo_url
    )


def question_specs(questions: list[ApplicationQuestion]) -> list[QuestionSpec]:
    return [QuestionSpec(q.id, q.label, q.kind, q.required, tuple(q.options or ())) for q in questions]


def public_program(session: Session, program_id: str) -> Program:
    found = repository.program(session, program_id)
    if found is None:
        raise ProgramNotFound("There is no partner program at this address.")
    return found


def save_form(session: Session, program: Program, settings: FormSettings) -> ApplicationForm:
    """Create or change the program's application form settings."""
    if not is_hex_color(settings.brand_color):
        raise ApplicationError("The brand colour must look like #2454c5.")
    if len(settings.headline) > 200:
        raise ApplicationError("The headline takes at most 200 characters.")
    if settings.logo_url.strip() and image_origin(settings.logo_url) is None:
        raise ApplicationError(
            "The logo must be the http(s) address of an image file (.png, .jpg, .svg, .webp or .gif), "
            "e.g. https://example.com/logo.png."
        )
    form = repository.application_form(session, program.id)
    if form is None:
        form = ApplicationForm(program_id=program.id)
        session.add(form)
    form.is_open = settings.is_open
    form.auto_approve = settings.auto_approve
    form.headline = settings.headline.strip()
    form.intro = settings.intro.strip()
    form.terms = settings.terms.strip()
    form.brand_color = settings.brand_color.lower()
    form.logo_url = settings.logo_url.strip()
    session.flush()
    return form


def add_question(
    session: Session, program: Program, *, label: str, kind: str, required: bool, options_text: str = ""
) -> ApplicationQuestion:
    label = label.strip()
    if not label or len(label) > 300:
        raise ApplicationError("A question needs a label of at most 300 characters.")
    if kind not in QuestionKind.__members__.values():
        raise ApplicationError(f"A question's kind is one of {', '.join(QuestionKind)}.")
    options = parse_options(options_text) if kind == QuestionKind.CHOICE else []
    if kind == QuestionKind.CHOICE and len(options) < 2:
        raise ApplicationError("A choice question needs at least two options, one per line.")
    if len(repository.questions(session, program.id)) >= MAX_QUESTIONS:
        raise ApplicationError(f"A form takes at most {MAX_QUESTIONS} questions.")
    question = ApplicationQuestion(
        program_id=program.id,
        position=repository.next_position(session, ApplicationQuestion, program.id),
        label=label,
        kind=kind,
        required=required,
        options=options,
    )
    session.add(question)
    session.flush()
    return question


def remove_question(session: Session, program: Program, question_id: str) -> None:
    if not repository.delete_question(session, program.id, question_id):
        raise NotFound("No such question on this program's form.")


def move_question(session: Session, program: Program, question_id: str, direction: str) -> None:
    """Swap the question with its neighbour above ("up") or below ("down")."""
    questions = repository.questions(session, program.id)
    index = next((i for i, q in enumerate(questions) if q.id == question_id), None)
    if index is None:
        raise NotFound("No such question on this program's form.")
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(questions):
        for position, question in enumerate(questions):
            question.position = position
        questions[index].position, questions[other].position = other, index
        session.flush()


# -------------------------------------------------------------------------------------- applying


@dataclass(frozen=True)
class ApplicationIn:
    name: str
    email: str
    password: str
    website: str
    country: str
    accept_terms: bool
    answers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Submitted:
    application: PartnerApplication
    partner: Partner
    enrollment: Enrollment
    user: User
    new_account: bool


def _check(body: ApplicationIn, questions: list[QuestionSpec], logged_in: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not body.name.strip() or len(body.name.strip()) > 200:
        errors["name"] = "Give your name (at most 200 characters)."
    if not logged_in and not is_email(body.email.strip().lower()):
        errors["email"] = "Give an email address we can write to."
    if body.website.strip() and (not is_web_url(body.website.strip()) or len(body.website.strip()) > 500):
        errors["website"] = "The website must be a web address starting with https:// or http://."
    if body.country.strip() and not is_country_code(body.country.strip()):
        errors["country"] = "Choose a country."
    if not body.accept_terms:
        errors["accept_terms"] = "Accept the program's terms to apply."
    _answers, answer_errors = check_answers(questions, body.answers)
    errors.update({f"q_{question_id}": message for question_id, message in answer_errors.items()})
    return errors


def apply(
    session: Session, settings: Settings, program: Program, body: ApplicationIn, current_user: User | None
) -> Submitted:
    """Enrol the applicant (approved at once when the program auto-approves, else pending), keep the answers,
    make their login when they have none, and email them the outcome. Writes nothing when it raises."""
    form = form_settings(session, program.id)
    if not form.is_open:
        raise ApplicationsClosed(f"{program.name} is not taking applications at the moment.")
    specs = question_specs(repository.questions(session, program.id))
    errors = _check(body, specs, logged_in=current_user is not None)
    if errors:
        raise ApplicationInvalid("Some answers need another look.", errors)
    email = current_user.email if current_user is not None else body.email.strip().lower()
    existing = partner_service.partner_by_email(session, program.workspace_id, email)
    if existing is not None and partner_service.enrollment_of(session, program.id, existing.id) is not None:
        raise AlreadyApplied(f"{email} has applied to {program.name} already: log in to see where it stands.")
    if current_user is None and account_service.user_by_email(session, email) is not None:
        raise LoginToApply(f"{email} has a Partnerloop account already: log in first, then apply.")
    status = status_on_apply(form.auto_approve)
    answers, _ = check_answers(specs, body.answers)
    try:
        with session.begin_nested():  # an error below (e.g. a weak password) leaves nothing behind
            return _enrol_applicant(session, settings, program, body, current_user, email, status, answers)
    except IntegrityError:  # the same person applying twice at the same moment (a double submit)
        raise AlreadyApplied(f"{email} has applied to {program.name} already: log in to see where it stands.") from None


def _enrol_applicant(
    session: Session,
    settings: Settings,
    program: Program,
    body: ApplicationIn,
    current_user: User | None,
    email: str,
    status: ApplicationStatus,
    answers: list[Answer],
) -> Submitted:
    """Create the login (when new), the enrollment, the application with its answers; queue the email."""
    new_account = current_user is None
    if current_user is None:
        try:
            user = account_service.create_partner_user(
                session, email=email, password=body.password, name=body.name.strip(), settings=settings
            )
        except account_service.WeakPassword as error:
            raise ApplicationInvalid(error.message, {"password": error.message}) from error
    else:
        user = current_user
    partner, enrollment = partner_service.enroll_partner(
        session,
        program,
        PartnerIn(
            email=email,
            name=body.name.strip(),
            status=status.value,
            country=body.country.strip().lower() or None,
        ),
    )
    partner.website = body.website.strip() or partner.website
    if partner.user_id is None and user.email_verified_at is not None:
        partner.user_id = user.id  # a proven address: the partner row is theirs at once
    now = utc_now()
    application = PartnerApplication(
        program_id=program.id,
        partner_id=partner.id,
        status=status.value,
        website=body.website.strip() or None,
        terms_accepted_at=now,
        decided_at=now if status is ApplicationStatus.APPROVED else None,
        decided_by="auto" if status is ApplicationStatus.APPROVED else None,
    )
    session.add(application)
    session.flush()
    session.add_all(
        ApplicationAnswer(
            program_id=program.id,
            application_id=application.id,
            question_id=answer.question_id,
            position=position,
            question_label=answer.label,
            value=answer.value,
        )
        for position, answer in enumerate(answers)
    )
    base_url = settings.base_url.rstrip("/")
    if status is ApplicationStatus.APPROVED:
        message = emails.application_approved(program.name, partner.name, base_url)
    else:
        message = emails.application_received(program.name, partner.name, base_url)
    enqueue_email(session, to=email, subject=message.subject, text=message.text)
    session.flush()
    return Submitted(application, partner, enrollment, user, new_account)


# -------------------------------------------------------------------------------------- deciding


def decide(
    session: Session,
    settings: Settings,
    program: Program,
    partner_id: str,
    action: str,
    *,
    decided_by: str,
    reason: str | None = None,
) -> Enrollment:
    """Approve or reject an applicant and tell them by email (their application, when there is one, records it)."""
    if action not in ("approve", "reject"):
        raise ApplicationError("An application is approved or rejected.")
    partner, enrollment = partner_service.change_status(session, program, partner_id, action)
    if reason is not None and reason.strip():
        enrollment.status_reason = reason.strip()[:1000]
    application = repository.application_of(session, program.id, partner_id)
    if application is not None:
        application.status = enrollment.status
        application.decided_at = utc_now()
        application.decided_by = decided_by
    if action == "approve":
        message = emails.application_approved(program.name, partner.name, settings.base_url.rstrip("/"))
    else:
        message = emails.application_rejected(program.name, partner.name, reason)
    # A notification (kind application_decided): branded, with the partner's choice and an unsubscribe link.
    notify_service.notify(
        session, program, "application_decided", [partner.email], subject=message.subject,
        lines=[paragraph.strip() for paragraph in message.text.split("\n\n") if paragraph.strip()], settings=settings,
    )  # fmt: skip
    session.flush()
    return enrollment
