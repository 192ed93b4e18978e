"""Feedback on the web, installed only with ``--collect-feedback``: POST /api/feedback, the chat's
thumbs, and the review page's data (``Review``, used by ``qa_web.admin``).

``install(app, assistant, settings)`` opens the store (migrating it), starts
the retention job, mounts /api/feedback and /admin/, and returns the assistant
wrapped so that every answer is observed (``qa.feedback.collector``). Without
the flag it returns the assistant untouched and adds no route: nothing of a
question is kept, as before. This module holds no redaction or storage logic.
"""

from __future__ import annotations

import logging
from datetime import timezone
from typing import Optional

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from qa.feedback.errors import AnswerNotFound, FeedbackError

logger = logging.getLogger(__name__)


class FeedbackRequest(BaseModel):
    """Thumbs up or down on one answer, with an optional comment (redacted before it is kept)."""

    model_config = ConfigDict(strict=True, extra="forbid")
    answer_id: str = Field(min_length=1, max_length=64, description="`answer_id` from the answer (POST /api/ask)")
    helpful: bool
    comment: Optional[str] = Field(default=None, max_length=1000)


def feedback_router(collector) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["FAQ"])

    @router.post("/feedback", status_code=202, summary="Mark an answer helpful or not (only when collection is on)",
                 responses={404: {"description": "No recent answer with this answer_id"}})
    def feedback(body: FeedbackRequest) -> dict:
        try:
            collector.feedback(body.answer_id, helpful=body.helpful, comment=body.comment)
        except AnswerNotFound as exc:
            return JSONResponse({"error": {"code": "unknown_answer", "message": str(exc)}}, status_code=404)
        return {"status": "accepted"}

    @router.api_route("/feedback", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def wrong_method() -> JSONResponse:
        return JSONResponse({"error": {"code": "method_not_allowed", "message": "Use POST."}}, status_code=405,
                            headers={"Allow": "POST"})

    return router


class ChatFeedback:
    """The chat's thumbs: a like event's message index -> that answer's id -> the collector."""

    def __init__(self, collector) -> None:
        self.collector = collector
        self.notice = collector.notice

    def on_like(self, history, data) -> None:  # data: gr.LikeData (typed in ui.py, which imports Gradio)
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turns = history or []
        message = turns[index] if isinstance(index, int) and 0 <= index < len(turns) else None
        answer_id = message.get("answer_id") if isinstance(message, dict) else None
        if not answer_id or not isinstance(data.liked, bool):
            return
        try:
            self.collector.feedback(answer_id, helpful=data.liked)
        except AnswerNotFound:
            logger.info("Thumbs on an answer older than the feedback window; ignored.")


def chat_feedback(assistant) -> ChatFeedback | None:
    """The thumbs for the chat when collection is on (the assistant was wrapped by ``install``), else None."""
    collector = getattr(assistant, "collector", None)
    return ChatFeedback(collector) if collector is not None else None


class Review:
    """What /admin/ shows and does, over the store, the assistant's passages and the corpus folder."""

    NO_ACCOUNTS = ("No staff account is set up: run `python -m qa feedback add-user NAME` "
                   "(or set QA_ADMIN_USERS), then reload.")
    FLASH = {"assigned": "Assigned. The index is being rebuilt; the chat answers with it in a few seconds.",
             "not_covered": "Marked not covered. The guide now says so for this topic after the rebuild.",
             "dismissed": "Dismissed."}

    def __init__(self, *, assistant, store, config, rebuilder, clock) -> None:
        from qa.feedback.accounts import LoginThrottle

        self.assistant, self.store, self.config, self.rebuilder, self.clock = assistant, store, config, rebuilder, clock
        self.retention_days = config.retention_days
        self.throttle = LoginThrottle()

    # --------------------------------------------------------------- accounts
    def _accounts(self) -> dict[str, str]:
        from qa.feedback.accounts import load_accounts

        try:  # read at each login: an account added with `add-user` works without a restart
            return load_accounts(self.config.admin_users_file, self.config.admin_users_inline)
        except FeedbackError as exc:
            logger.error("%s", exc)
            return {}

    def has_accounts(self) -> bool:
        return bool(self._accounts())

    def verify(self, name: str, password: str) -> bool:
        from qa.feedback.accounts import verify

        return verify(self._accounts(), name, password)

    # ---------------------------------------------------------------- reading
    def items(self, kind: str) -> list[dict]:
        from qa.feedback.grouping import group, vector

        messages = self.store.messages(status="new", kind=kind)
        by_id = {m.id: m for m in messages}
        headings = {p.id: p.heading for p in self.assistant.passages}
        out = []
        for g in group([(m.id, vector(m.embedding)) for m in messages]):
            lead = by_id[g.leader]
            out.append({
                "ids": list(g.ids), "count": g.count, "kind": lead.kind, "question": lead.question,
                "others": sorted({by_id[i].question for i in g.ids[1:]} - {lead.question}),
                "when": lead.created_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "reason": lead.reason, "confidence": lead.confidence, "urgent": lead.urgent,
                "comment": lead.comment or "", "helpful": lead.helpful, "shown": [headings.get(p, p) for p in lead.passage_ids[:3]],
            })
        return out

    def search(self, q: str) -> list[dict]:
        if not q.strip():
            return []
        _, hits = self.assistant.retriever.search(q, k=6)  # the unwrapped assistant: staff searches are not kept
        return [{"id": h.passage.id, "heading": h.passage.heading, "text": h.passage.plain_text} for h in hits]

    def rebuild_error(self) -> str | None:
        return self.rebuilder.last_error

    # -------------------------------------------------------------- decisions
    def _ids(self, ids: str) -> list[int]:
        found = [int(part) for part in ids.split(",") if part.strip().isdigit()][:500]
        if not found or not self.store.messages(ids=found):
            raise FeedbackError("No such message: reload /admin/ and pick one from the list.")
        return found

    def assign(self, ids: str, *, passage_id: str, question: str) -> str:
        from qa.feedback.corpus_edits import append_alternate, quote_for

        chosen = self._ids(ids)
        passages = self.assistant.passages
        passage = next((p for p in passages if p.id == passage_id), None)
        if passage is None:
            raise FeedbackError("That passage is not in the current index: search again and pick one.")
        text = question.strip() or self.store.messages(ids=chosen[:1])[0].question
        quote = quote_for(passage, passages)
        append_alternate(self.assistant.paths.corpus_dir, question=text[:1000], answer_quote=quote)
        self.store.review(chosen, status="assigned", now=self.clock(), passage_id=passage.id, answer_quote=quote)
        self.rebuilder.request()
        return "assigned"

    def not_covered(self, ids: str, *, term: str, topic: str, where: str) -> str:
        from qa.feedback.corpus_edits import append_not_covered

        chosen = self._ids(ids)
        append_not_covered(self.assistant.paths.corpus_dir, term=term, topic=topic, where=where)
        self.store.review(chosen, status="not_covered", now=self.clock())
        self.rebuilder.request()
        return "not_covered"

    def dismiss(self, ids: str) -> str:
        self.store.review(self._ids(ids), status="dismissed", now=self.clock())
        return "dismissed"


def install(app: FastAPI, assistant, settings):
    """Everything feedback needs when ``settings.collect_feedback``; returns the assistant to serve with."""
    if not getattr(settings, "collect_feedback", False):
        return assistant
    from qa.feedback.collector import CollectingAssistant, Collector
    from qa.feedback.config import resolve_feedback_config
    from qa.feedback.rebuild import index_rebuilder
    from qa.feedback.retention import RetentionJob, utc_now
    from qa.feedback.store import FeedbackStore

    from . import admin

    config = resolve_feedback_config(data_dir=settings.data_dir, database_url=settings.database_url,
                                     retention_days=settings.retention_days)
    store = FeedbackStore.open(config.database_url)
    RetentionJob(store, days=config.retention_days).start()
    collector = Collector(store, retention_days=config.retention_days, encode=assistant.embedder.encode)
    review = Review(assistant=assistant, store=store, config=config, rebuilder=index_rebuilder(assistant), clock=utc_now)
    app.include_router(feedback_router(collector))
    admin.install(app, review, root_path=settings.root_path)
    app.state.feedback = review
    return CollectingAssistant(assistant, collector)
