"""The JSON REST API: `POST /api/ask` and `GET /api/health`.

Requests are validated strictly (a question must be a string, `k` a whole
number from 1 to 10, nothing else in the body) and every refusal is a 4xx JSON
body of the form {"error": {"code": ..., "message": ...}} that never echoes the
question, a traceback or a server path. This module does not build the chat UI
and does not decide what an answer says: that is `qa.Assistant.ask`.
"""



import logging
from collections.abc import Sequence
from functools import partial
from typing import Annotated, Any, Optional, Protocol

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

MIN_K, MAX_K, DEFAULT_K = 1, 10, 3
#: Manifest fields reported by /api/health as they are; paths and hashes stay private.
#: Earlier questions a request may send as context (the assistant reads the last few).
MAX_HISTORY = 10
HEALTH_MANIFEST_KEYS = ("passage_count", "built_at", "format_version")


class AssistantLike(Protocol):
    manifest: dict

    def ask(self, question: str, k: int = 3, *, history: Sequence[str] = ()) -> Any: ...


def manifest_summary(manifest: dict) -> dict:
    """Model name and dimension, passage count, build time and corpus file names:
    enough to check readiness, with no server paths or checksums."""
    summary = {key: manifest[key] for key in HEALTH_MANIFEST_KEYS if key in manifest}
    model = manifest.get("model")
    if isinstance(model, dict):
        summary["model"] = model.get("name")
        summary["dimension"] = model.get("dimension")
    elif isinstance(model, str):
        summary["model"] = model
    corpus = manifest.get("corpus")
    if isinstance(corpus, list):
        summary["sources"] = [c.get("name") for c in corpus if isinstance(c, dict)]
    return summary


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def json_error(status: int, code: str, message: str, headers: Optional[dict] = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def make_ask_request_model(max_chars: int) -> type[BaseModel]:
    class AskRequest(BaseModel):
        """A patient's question and how many passages to quote."""

        # strict: "3" is not a number and 3 is not a question; extra keys are refused.
        model_config = ConfigDict(strict=True, extra="forbid")

        question: str = Field(max_length=max_chars, description=f"The patient's question, at most {max_chars} characters.")
        k: int = Field(default=DEFAULT_K, ge=MIN_K, le=MAX_K, description="How many passages to quote (1 to 10).")
        history: list[Annotated[str, Field(max_length=max_chars)]] = Field(
            default_factory=list, max_length=MAX_HISTORY,
            description="The patient's earlier questions in this conversation, oldest first (optional): "
                        "a follow-up such as 'and how long does it last?' is read in their light.")

    return AskRequest


class Gate:
    """Bounded concurrency for the REST route: `limit` answers run at once and at
    most `waiting` more wait; beyond that the caller gets 503 and retries."""

    def __init__(self, limit: int, waiting: int) -> None:
        self.limiter = anyio.CapacityLimiter(limit)
        self.capacity = limit + waiting
        self.in_flight = 0

    async def run(self, fn, *args):
        if self.in_flight >= self.capacity:
            return None, False
        self.in_flight += 1
        try:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter), True
        finally:
            self.in_flight -= 1


def _describe(errors: list[dict], max_chars: int) -> tuple[int, str, str]:
    """Status, code and a plain message for pydantic errors, without input values."""
    types = {e.get("type") for e in errors}
    if "json_invalid" in types:
        return 400, "invalid_json", "The request body is not valid JSON."
    messages = []
    for e in errors:
        field = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        kind = e.get("type", "")
        if kind == "missing":
            messages.append(f"'{field}' is required.")
        elif kind == "extra_forbidden":
            messages.append(f"'{field}' is not an accepted field.")
        elif kind == "string_unicode":  # JSON's "\ud800" escape decodes to a lone surrogate
            messages.append("'question' is not valid text: it holds a lone UTF-16 surrogate (\\ud800 to \\udfff). Send it as UTF-8 text.")
        elif kind == "string_too_long":
            messages.append(f"'question' is too long: at most {max_chars} characters, please shorten it.")
        elif field.startswith("history"):
            messages.append(f"'history' must be a list of at most {MAX_HISTORY} earlier questions, "
                            f"each a string of at most {max_chars} characters.")
        elif field == "k":
            messages.append(f"'k' must be a whole number from {MIN_K} to {MAX_K}.")
        elif field == "question":
            messages.append("'question' must be a string.")
        else:
            messages.append('The body must be a JSON object like {"question": "...", "k": 3}.')
    too_long = "string_too_long" in types
    code = "question_too_long" if too_long else "invalid_text" if "string_unicode" in types else "invalid_request"
    return 422, code, " ".join(dict.fromkeys(messages))


def install_error_handlers(app: FastAPI, *, max_chars: int) -> None:
    """JSON 4xx bodies for validation and routing errors; a bare 500 otherwise."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = _describe(list(exc.errors()), max_chars)
        return json_error(status, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 503: "busy"}
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else "Request refused."
        if exc.status_code == 404:
            message = "Not found."
        return json_error(exc.status_code, codes.get(exc.status_code, "error"), message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # The exception type only: its message could quote the question.
        logger.error("unexpected error in API request: %s", type(exc).__name__)
        return json_error(500, "internal_error", "Something went wrong on our side. Please try again or contact the clinic.")


def build_router(assistant: AssistantLike, *, max_chars: int, gate: Gate, contact: dict | None = None) -> APIRouter:
    """``contact``: the clinic's details (corpus/clinic.toml), added to every answer as ``clinic``
    so the website can show whom to call beside a not-covered or urgent answer."""
    router = APIRouter(prefix="/api", tags=["FAQ"])
    AskRequest = make_ask_request_model(max_chars)

    @router.post(
        "/ask",
        summary="Answer a patient's question with quotes from the clinic's document",
        responses={
            400: {"description": "Body is not valid JSON"},
            413: {"description": "Request body over the size limit"},
            422: {"description": "Wrong field types or values, or a question over the length limit"},
            503: {"description": "Busy: retry shortly"},
        },
    )
    async def ask(body: AskRequest) -> dict:  # type: ignore[valid-type]
        """Returns `Answer.to_dict()`: message, quoted passages (best first), best_sentence,
        confidence, abstained / urgent / emergency flags, related_questions and input_error,
        plus `clinic` (name, phone, hours, website, emergency_number)."""
        answer, admitted = await gate.run(partial(assistant.ask, body.question, body.k, history=body.history))
        if not admitted:
            return json_error(503, "busy", "The assistant is busy. Please retry in a few seconds.", headers={"Retry-After": "2"})
        return {**answer.to_dict(), **({"clinic": contact} if contact else {})}

    @router.get("/health", summary="Readiness: model loaded and a summary of the index")
    def health() -> dict:
        return {"status": "ok", "model_loaded": True, "index": manifest_summary(getattr(assistant, "manifest", None) or {})}

    known = {"ask": "POST", "health": "GET"}

    # Without this, unknown /api/... paths would fall through to the Gradio app
    # mounted at "/" and get its error format instead of ours.
    @router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def _unknown(rest: str) -> JSONResponse:
        allowed = known.get(rest.strip("/"))
        if allowed:
            return json_error(405, "method_not_allowed", f"Use {allowed}.", headers={"Allow": allowed})
        return json_error(404, "not_found", "Not found.")

    return router
