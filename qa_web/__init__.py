"""The web layer over ``qa``: one FastAPI process serving the chat, the embed, the JSON API
and, with feedback on, the staff page.

One job: carry questions from HTTP to ``qa.Assistant`` and answers back, safely.
Nothing here answers questions or decides anything about them. Modules:
``server`` (the app, Gradio mounted), ``api`` and ``feedback_api`` (routes),
``ui``, ``page_assets``, ``render``, ``clinic`` and ``assets/`` (the pages),
``connections``, ``backstop``, ``forwarded``, ``hardening``, ``gradio_gate``,
``gradio_surface``, ``gradio_values`` (the security layers, docs/security.md),
``admin*`` (the staff page), ``settings`` (flags and environment).

May import: FastAPI, Starlette, Gradio, uvicorn; of ``qa``, only the package
itself (``Assistant``, ``preload_encoder``, ``MAX_QUESTION_CHARS``),
``qa.feedback``, ``qa.config`` and ``qa.errors`` (tests/test_architecture.py;
``render`` still reads ``qa.passages.HEADING_SEPARATOR``, a known exception
the test marks). Import ``qa_web.server`` (which imports Gradio) only when you
need the app.
"""
