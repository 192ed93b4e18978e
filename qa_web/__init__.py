"""The web layer over `qa`: settings, safe HTML rendering, the JSON API, the Gradio
chat and embed views, and the hardening middleware. Nothing here answers
questions itself; it only calls `qa.Assistant`. Import `qa_web.server` (which
imports Gradio) only when you need the app."""
