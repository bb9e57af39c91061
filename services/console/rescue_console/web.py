"""What every page needs: the session, the API on the user's behalf, forms with CSRF, rendering."""

from __future__ import annotations

import uuid
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from rescue_console.api import Api
from rescue_console.sessions import Session

TEMPLATES = Jinja2Templates(directory=str(FilePath(__file__).parent / "templates"))
MAX_FORM_BYTES = 256 * 1024


class SignInRequired(Exception):
    """No signed-in session: the user is sent to the sign-in page."""


class NotAllowed(Exception):
    """The signed-in user's roles do not open this page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadForm(Exception):
    """A form that is not ours (missing or wrong CSRF token) or too large."""


def current_session(request: Request) -> Session:
    session: Session = request.state.session
    return session


def signed_in(request: Request) -> Session:
    session = current_session(request)
    if not session.signed_in:
        raise SignInRequired()
    return session


def site_staff(session: Annotated[Session, Depends(signed_in)]) -> Session:
    if not session.is_site_staff:
        raise NotAllowed("These pages are for site staff (site user or investigator of a site).")
    return session


def trial_team(session: Annotated[Session, Depends(signed_in)]) -> Session:
    if not (session.is_trial_team or session.has("investigator")):
        raise NotAllowed("These pages are for the trial team (statistician, monitor, admin).")
    return session


AnySession = Annotated[Session, Depends(current_session)]
SignedIn = Annotated[Session, Depends(signed_in)]
SiteStaff = Annotated[Session, Depends(site_staff)]
TrialTeam = Annotated[Session, Depends(trial_team)]


def api_for(request: Request) -> Api:
    return Api(request.app.state.clients, current_session(request).token)


UserApi = Annotated[Api, Depends(api_for)]


class Form:
    """A posted form (application/x-www-form-urlencoded) whose CSRF token was checked."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        self.values = dict(pairs)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default).strip()

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]


async def checked_form(request: Request) -> Form:
    """Every POST goes through here: no form is accepted without the session's CSRF token."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise BadForm()
    form = Form(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not current_session(request).csrf_matches(form.values.get("csrf_token")):
        raise BadForm()
    return form


PostedForm = Annotated[Form, Depends(checked_form)]
SUBJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SubjectId = Annotated[str, Path(pattern=SUBJECT_ID_PATTERN)]


def render(request: Request, template: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    session = current_session(request)
    return TEMPLATES.TemplateResponse(request, template, {
        "session": session, "notices": session.pop_notices(),
        # A fresh key per rendered form: a double submission is applied once by the service.
        "idempotency_key": str(uuid.uuid4()), **context,
    }, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)  # after a POST: GET the next page


def _install_template_helpers() -> None:
    from rescue_console.explain import (
        CLASSIFICATIONS,
        CRITERION_RESULTS,
        EXCLUSION_REASONS,
        UNMET_CONDITIONS,
        VISIT_STATUSES,
        plain,
    )

    TEMPLATES.env.globals.update(
        explain_exclusion=lambda code: plain(EXCLUSION_REASONS, code),
        explain_classification=lambda code: plain(CLASSIFICATIONS, code),
        explain_result=lambda code: plain(CRITERION_RESULTS, code),
        explain_condition=lambda code: plain(UNMET_CONDITIONS, code),
        explain_visit=lambda code: plain(VISIT_STATUSES, code))


_install_template_helpers()
