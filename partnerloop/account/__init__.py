"""Accounts and page safety, used by every HTML page.

- `account.deps`: `current_user`, `ManagerPage` / `ManagerAction` (CSRF + not viewer) / `ManagerAdmin`
  (CSRF + owner or admin) giving `ManagerContext(user, member, program, programs, session)`;
  `PartnerPage` giving `PartnerContext(user, partner, enrollment, program, session)` (`?program=`
  chooses); `CsrfChecked` / `verify_csrf` for any other form handler; `render`, `redirect`.
- Templates extend `base.html` and put `{{ csrf_input() }}` in every form that changes something.
- `account.service`: `create_partner_user`, `start_session`, password reset, verification, invitations.
- `notify.email.enqueue_email` sends through the job queue (SMTP_URL).
"""
