"""The content team's review page, /admin/: login, CSRF, never framed, never cached.

Every route needs a logged-in staff session except the login form itself:
pages redirect to it (303), the JSON API and every POST answer 401. A POST
must carry the session's CSRF token and must not come from another site
(``Origin`` / ``Sec-Fetch-Site``); the session cookie is HttpOnly and
SameSite=Strict. Failed logins are limited per account and overall
(``LoginThrottle``). Headers, sessions and the origin check are in
``qa_web.admin_guard``, the HTML in ``qa_web.admin_html``, the decisions in
``qa.feedback`` (through ``qa_web.feedback_api.Review``); this module routes.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from qa.feedback.errors import FeedbackError

from . import admin_html
from .admin_guard import PREFIX, Session, Sessions, cross_site

COOKIE, LOGIN_COOKIE = "qa_admin", "qa_admin_login"


def build_router(review, *, root_path: str = "") -> APIRouter:
    """``review`` is a ``qa_web.feedback_api.Review``: accounts, store, passages and decisions.

    Form fields are all optional here and checked by ``review`` after the login
    check, so a request without a session always gets 401 or 303, never 422."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    sessions = Sessions()
    base = root_path + PREFIX

    def cookie(response: Response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(name, value, max_age=max_age, path=base, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")

    def session_of(request: Request) -> Session | None:
        return sessions.get(request.cookies.get(COOKIE))

    def refused(request: Request, *, page: bool) -> Response:
        if page:
            return RedirectResponse(f"{base}/login", status_code=303)
        return JSONResponse({"error": {"code": "login_required", "message": "Log in at /admin/login first."}},
                            status_code=401)

    def checked_post(request: Request, csrf: str) -> tuple[Session | None, Response | None]:
        session = session_of(request)
        if session is None:
            return None, refused(request, page=False)
        if cross_site(request) or not secrets.compare_digest(csrf.encode(), session.csrf.encode()):
            return None, JSONResponse({"error": {"code": "forbidden", "message": "Cross-site or stale form: "
                                                 "reload /admin/ and try again."}}, status_code=403)
        return session, None

    @router.get("")
    def root() -> Response:
        return RedirectResponse(f"{base}/", status_code=303)

    @router.get("/login")
    def login_form(request: Request) -> Response:
        token = secrets.token_urlsafe(32)
        response = HTMLResponse(admin_html.login_page(action=f"{base}/login", token=token,
                                                      error="" if review.has_accounts() else review.NO_ACCOUNTS))
        cookie(response, request, LOGIN_COOKIE, token, max_age=3600)
        return response

    @router.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""),
              csrf: str = Form("")) -> Response:
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if cross_site(request) or not expected or not secrets.compare_digest(csrf.encode(), expected.encode()):
            return JSONResponse({"error": {"code": "forbidden", "message": "Open /admin/login and log in from there."}},
                                status_code=403)
        username, password = username[:64], password[:1024]
        wait = review.throttle.retry_after(username)
        if wait > 0:
            return HTMLResponse(admin_html.login_page(action=f"{base}/login", token=expected, error=(
                f"Too many failed logins. Try again in {int(wait // 60) + 1} minutes.")), status_code=429,
                headers={"Retry-After": str(int(wait) + 1)})
        if not review.verify(username, password):
            review.throttle.failed(username)
            return HTMLResponse(admin_html.login_page(action=f"{base}/login", token=expected,
                                                      error="Wrong name or password."), status_code=401)
        review.throttle.succeeded(username)
        sessions.end(request.cookies.get(COOKIE))
        token, _ = sessions.start(username)
        response = RedirectResponse(f"{base}/", status_code=303)
        cookie(response, request, COOKIE, token)
        response.delete_cookie(LOGIN_COOKIE, path=base)
        return response

    @router.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        session, problem = checked_post(request, csrf)
        if problem:
            return problem
        sessions.end(request.cookies.get(COOKIE))
        response = RedirectResponse(f"{base}/login", status_code=303)
        response.delete_cookie(COOKIE, path=base)
        return response

    def render(session: Session, *, done: str = "", search: dict | None = None) -> Response:
        return HTMLResponse(admin_html.review_page(
            user=session.user, base=base, csrf=session.csrf, unanswered=review.items("unanswered"),
            disliked=review.items("disliked"), search=search, flash=review.FLASH.get(done, ""),
            retention_days=review.retention_days, rebuild_error=review.rebuild_error()))

    @router.get("/")
    def review_page(request: Request, done: str = "") -> Response:
        session = session_of(request)
        return refused(request, page=True) if session is None else render(session, done=done)

    @router.post("/search")
    def search(request: Request, csrf: str = Form(""), find: str = Form(""), q: str = Form("")) -> Response:
        """Passages for one message. A POST, so the words searched never appear in a URL or an access log."""
        session, problem = checked_post(request, csrf)
        if problem:
            return problem
        if not find.isdigit() or not q.strip():
            return render(session)
        return render(session, search={"find": int(find), "q": q[:300], "passages": review.search(q[:300])})

    @router.get("/api/messages")
    def api_messages(request: Request) -> Response:
        if session_of(request) is None:
            return refused(request, page=False)
        return JSONResponse({"unanswered": review.items("unanswered"), "disliked": review.items("disliked")})

    @router.get("/api/passages")
    def api_passages(request: Request, q: str = "") -> Response:
        if session_of(request) is None:
            return refused(request, page=False)
        return JSONResponse({"passages": review.search(q)})

    def act(request: Request, csrf: str, decide) -> Response:
        session, problem = checked_post(request, csrf)
        if problem:
            return problem
        try:
            outcome = decide()
        except FeedbackError as exc:
            return JSONResponse({"error": {"code": "invalid", "message": str(exc)}}, status_code=400)
        return RedirectResponse(f"{base}/?{urlencode({'done': outcome})}", status_code=303)

    @router.post("/assign")
    def assign(request: Request, csrf: str = Form(""), ids: str = Form(""),
               passage_id: str = Form(""), question: str = Form("")) -> Response:
        return act(request, csrf, lambda: review.assign(ids, passage_id=passage_id, question=question))

    @router.post("/not-covered")
    def not_covered(request: Request, csrf: str = Form(""), ids: str = Form(""),
                    term: str = Form(""), topic: str = Form(""),
                    where: str = Form("question")) -> Response:
        return act(request, csrf, lambda: review.not_covered(ids, term=term, topic=topic, where=where))

    @router.post("/dismiss")
    def dismiss(request: Request, csrf: str = Form(""), ids: str = Form("")) -> Response:
        return act(request, csrf, lambda: review.dismiss(ids))

    return router


def install(app: FastAPI, review, *, root_path: str = "") -> None:
    """The staff routes. ``AdminHeaders`` is added by ``qa_web.server`` outside the
    app-wide security headers, so its stricter framing and caching rules win."""
    app.include_router(build_router(review, root_path=root_path))
