"""The demo program's partner portal content: welcome kit, resource library, application form."""

from __future__ import annotations

from sqlalchemy.orm import Session

from partnerloop.models import Program
from partnerloop.partner_portal.service import application, library


def seed_portal_content(session: Session, program: Program) -> None:
    library.save_welcome_kit(
        session,
        program,
        library.KitIn(
            welcome_message=f"Welcome to the {program.name} partner program! We are glad you are here.",
            guidelines=(
                "Tell your audience you earn a commission when they buy through your links.\n\n"
                "Do not bid on our brand name in search ads, and do not post our coupons on coupon sites."
            ),
            how_to_promote=(
                "Write about how you use the product: tutorials and honest reviews convert best.\n\n"
                "Send visitors to the page that matches what you wrote about (pricing, a feature, a guide)."
            ),
        ),
    )
    for resource in (
        library.ResourceIn("guide", "Getting started guide", "Everything a new partner needs, in ten minutes.",
                           body="1. Create a link.\n2. Share it.\n3. Watch your dashboard."),
        library.ResourceIn("banner", "Leaderboard banner 728×90", url="https://acme.example/brand/banner-728x90.png"),
        library.ResourceIn("video", "Product tour (3 minutes)", url="https://acme.example/tour"),
        library.ResourceIn("swipe_copy", "Launch tweet", body="I track my product's analytics with Acme: try it free."),
    ):  # fmt: skip
        library.add_resource(session, program, resource)
    application.save_form(
        session,
        program,
        application.FormSettings(
            headline=f"Earn with {program.name}",
            intro="Recommend the analytics tool your audience already asks about, and earn on every payment.",
            terms="Disclose your affiliate relationship. No brand bidding. No spam.",
        ),
    )
    application.add_question(session, program, label="Where will you promote us?", kind="long_text", required=True)
