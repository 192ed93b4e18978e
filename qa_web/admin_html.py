"""HTML of the content team's review page (/admin/): plain forms, no script, everything escaped.

Pure functions from plain values to strings; the routes, login and CSRF
checks are in ``qa_web.admin``. Every form that changes something carries the
session's CSRF token; passage search is a POST too, so
no patient's words end up in a URL or an access log.
"""

from __future__ import annotations

from html import escape

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:1rem;color:#1b1b1b}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
.item{border:1px solid #d0d0d0;border-radius:6px;padding:.7rem;margin:.7rem 0}
.meta{color:#555;font-size:.85rem}.count{font-weight:600;color:#7a3e00}.flash{background:#eef6ee;padding:.5rem}
.error{background:#fbeaea;padding:.5rem}form.inline{display:inline-block;margin:.3rem .6rem .3rem 0}
input[type=text],input[type=search]{min-width:18rem}.passage{margin:.4rem 0 .4rem 1rem;padding:.4rem;
background:#f6f6f6}button{cursor:pointer}
"""


def page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>")


def login_page(*, action: str, token: str, error: str = "") -> str:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return page("Staff login", f"""<h1>Staff login: patient feedback</h1>{problem}
<form method="post" action="{escape(action)}"><input type="hidden" name="csrf" value="{escape(token)}">
<p><label>Name <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Log in</button></p></form>""")


def _hidden(csrf: str, ids: tuple[int, ...]) -> str:
    return (f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            f'<input type="hidden" name="ids" value="{",".join(map(str, ids))}">')


def item_html(item: dict, *, base: str, csrf: str, search: dict | None) -> str:
    """One group: text, count, what was shown, and the three actions."""
    ids = tuple(item["ids"])
    count = f' <span class="count">×{item["count"]}</span>' if item["count"] > 1 else ""
    others = "".join(f"<li>{escape(t)}</li>" for t in item["others"])
    others = f"<details><summary>Similar messages</summary><ul>{others}</ul></details>" if others else ""
    shown = "".join(f"<li>{escape(h)}</li>" for h in item["shown"])
    shown = f'<div class="meta">Shown: <ul>{shown}</ul></div>' if shown and item["kind"] == "disliked" else ""
    comment = f'<p class="meta">Comment: {escape(item["comment"])}</p>' if item.get("comment") else ""
    query = search["q"] if search else item["question"]
    results = ""
    if search is not None:
        rows = "".join(f"""<div class="passage"><strong>{escape(p["heading"])}</strong><br>{escape(p["text"][:400])}
<form class="inline" method="post" action="{base}/assign">{_hidden(csrf, ids)}
<input type="hidden" name="passage_id" value="{escape(p["id"])}">
<label>Alternate question <input type="text" name="question" value="{escape(item["question"])}"></label>
<button type="submit">Assign this passage</button></form></div>""" for p in search["passages"])
        results = rows or "<p>No passage found; try other words.</p>"
    return f"""<div class="item" id="m{ids[0]}" data-kind="{escape(item["kind"])}">
<p class="question">{escape(item["question"])}{count}</p>
<p class="meta">{escape(item["when"])} · {escape(item["reason"] or "answered")} · confidence {item["confidence"]:.2f}{
" · urgent" if item["urgent"] else ""}</p>{comment}{shown}{others}
<form class="inline" method="post" action="{base}/search"><input type="hidden" name="find" value="{ids[0]}">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<label>Search passages <input type="search" name="q" value="{escape(query)}"></label>
<button type="submit">Find the right passage</button></form>
<form class="inline" method="post" action="{base}/not-covered">{_hidden(csrf, ids)}
<label>Term <input type="text" name="term" size="12" required></label>
<label>Topic <input type="text" name="topic" size="14" required></label>
<select name="where" aria-label="Where the term counts"><option>question</option><option>anywhere</option></select>
<button type="submit">Mark not covered</button></form>
<form class="inline" method="post" action="{base}/dismiss">{_hidden(csrf, ids)}<button type="submit">Dismiss</button></form>
{results}</div>"""


def review_page(*, user: str, base: str, csrf: str, unanswered: list[dict], disliked: list[dict],
                search: dict | None, flash: str, retention_days: int, rebuild_error: str | None) -> str:
    def section(items: list[dict]) -> str:
        return "".join(item_html(i, base=base, csrf=csrf, search=search if search and search["find"] in i["ids"]
                                 else None) for i in items) or "<p>Nothing waiting.</p>"

    notes = f'<p class="flash" role="status">{escape(flash)}</p>' if flash else ""
    if rebuild_error:
        notes += f'<p class="error" role="alert">The last index rebuild failed: {escape(rebuild_error)}</p>'
    return page("Patient feedback", f"""<form method="post" action="{base}/logout" style="float:right">
<input type="hidden" name="csrf" value="{escape(csrf)}"><button type="submit">Log out {escape(user)}</button></form>
<h1>Patient feedback</h1>{notes}
<p class="meta">Redacted messages, kept {retention_days} days. Assigning a passage adds an alternate question
to the corpus and rebuilds the index; marking not covered adds a term to <code>not_covered.csv</code>.</p>
<h2>Questions the guide could not answer</h2>{section(unanswered)}
<h2>Answers marked unhelpful</h2>{section(disliked)}""")
