"""Imports run one way: the core knows nothing of its shells, each subpackage
reaches only the few modules its docstring names.

The rules, read from the source with ``ast`` (nothing is imported, so a test
cannot pass because a module happened to be loaded already):

1. ``qa/`` never imports the web layer, its frameworks or the shells:
   ``qa_web``, ``gradio``, ``fastapi``, ``starlette``, ``uvicorn``, ``eval``, ``bench``.
2. ``qa/encoder/`` imports nothing of ``qa`` outside ``qa.encoder``, ``qa.config``, ``qa.errors``.
3. ``qa/decisions/`` imports nothing of ``qa`` outside ``qa.decisions``, ``qa.text``,
   ``qa.clinic_tables``, ``qa.errors``.
4. ``qa_web/`` and ``app.py`` import from ``qa`` only the package itself (``Assistant``,
   ``preload_encoder``...), ``qa.feedback``, ``qa.config`` and ``qa.errors``.
5. ``eval/`` imports ``qa`` only inside functions, so importing ``eval`` loads no model.

Each rule is checked on every real file (one case per file) and shown to fail
on a tiny inline module that breaks it. A real file that breaks a rule today is
listed in ``KNOWN_VIOLATIONS`` and its case is a strict xfail: it shows in every
run, and the day it is fixed the xfail turns into a failure that asks for the
entry to go.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Imported:
    """One module a source file imports: its dotted name, line, and whether inside a function."""

    name: str
    line: int
    lazy: bool


def module_name(path: Path) -> str:
    """``qa/decisions/scope.py`` -> ``qa.decisions.scope``; ``qa/__init__.py`` -> ``qa``."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_repo_module(name: str) -> bool:
    """Is ``name`` a module or package of this repository (so ``from qa import passages`` names it)?"""
    base = REPO.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(source: str, module: str, *, is_package: bool = False,
               is_module: Callable[[str], bool] = is_repo_module) -> list[Imported]:
    """Every module ``source`` imports, relative imports resolved against ``module``.

    ``from a import b`` records ``a.b`` when that is a module (``from qa import
    passages`` reaches ``qa.passages`` as surely as ``import qa.passages``
    does), and ``a`` itself when ``b`` is a name defined in it. An import inside a function (at any depth) is
    lazy; anything else (module level, a class body, ``if TYPE_CHECKING:``) is not.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[Imported] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Imported(alias.name, child.lineno, lazy) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - (child.level - 1)]
                    origin = ".".join(base + ([child.module] if child.module else []))
                else:
                    origin = child.module or ""
                modules = [f"{origin}.{a.name}" for a in child.names if is_module(f"{origin}.{a.name}")]
                if len(modules) < len(child.names):  # some names are the origin's own (or "*")
                    found.append(Imported(origin, child.lineno, lazy))
                found.extend(Imported(name, child.lineno, lazy) for name in modules)
            visit(child, lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(ast.parse(source), False)
    return found


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    """Is ``name`` one of ``prefixes`` or inside one of them (``qa.encoder.batching`` in ``qa.encoder``)?"""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@dataclass(frozen=True)
class Rule:
    id: str
    says: str
    folders: tuple[str, ...]  # files under these (or these files) must keep the rule
    broken_by: Callable[[Imported], bool]


WEB_AND_SHELLS = ("qa_web", "gradio", "fastapi", "starlette", "uvicorn", "eval", "bench")

RULES = (
    Rule("core-knows-no-shell", "qa/ never imports qa_web, a web framework, eval or bench",
         ("qa",), lambda i: within(i.name, WEB_AND_SHELLS)),
    Rule("encoder-stands-alone", "qa/encoder/ imports of qa: qa.encoder, qa.config, qa.errors only",
         ("qa/encoder",), lambda i: within(i.name, ("qa",))
         and not within(i.name, ("qa.encoder", "qa.config", "qa.errors"))),
    Rule("decisions-stand-alone", "qa/decisions/ imports of qa: qa.decisions, qa.text, qa.clinic_tables, qa.errors only",
         ("qa/decisions",), lambda i: within(i.name, ("qa",))
         and not within(i.name, ("qa.decisions", "qa.text", "qa.clinic_tables", "qa.errors"))),
    Rule("web-uses-the-front-door", "qa_web/ and app.py import of qa: the package, qa.feedback, qa.config, qa.errors",
         ("qa_web", "app.py"), lambda i: within(i.name, ("qa",))
         and i.name != "qa" and not within(i.name, ("qa.feedback", "qa.config", "qa.errors"))),
    Rule("eval-imports-qa-lazily", "eval/ imports qa only inside functions",
         ("eval",), lambda i: within(i.name, ("qa",)) and not i.lazy),
)

#: Real files that break a rule today, with what they import. Each is reported to the
#: team, not allowed for good: its case is a strict xfail.
KNOWN_VIOLATIONS = {
}


def files_under(folder: str) -> list[Path]:
    path = REPO / folder
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


def violations(rule: Rule, path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    found = imports_of(source, module_name(path), is_package=path.name == "__init__.py")
    return [f"{path.relative_to(REPO)}:{i.line} imports {i.name}" for i in found if rule.broken_by(i)]


def _cases():
    for rule in RULES:
        for folder in rule.folders:
            for path in files_under(folder):
                rel = path.relative_to(REPO).as_posix()
                reason = KNOWN_VIOLATIONS.get((rule.id, rel))
                marks = [pytest.mark.xfail(strict=True, reason=f"known violation: {reason}")] if reason else []
                yield pytest.param(rule, path, id=f"{rule.id}:{rel}", marks=marks)


@pytest.mark.parametrize("rule,path", list(_cases()))
def test_real_file_keeps_the_rule(rule, path):
    assert violations(rule, path) == [], f"{rule.says}"


def test_every_rule_has_files_to_check():
    # A rule over a folder that was renamed away would pass for ever, checking nothing.
    for rule in RULES:
        assert sum(len(files_under(f)) for f in rule.folders) > 0, rule.id


def test_known_violations_name_real_rules_and_files():
    ids = {r.id for r in RULES}
    for rule_id, rel in KNOWN_VIOLATIONS:
        assert rule_id in ids and (REPO / rel).is_file(), (rule_id, rel)


# ---- each rule fails on a tiny module that breaks it ---------------------------------------

def _rule(rule_id: str) -> Rule:
    return next(r for r in RULES if r.id == rule_id)


def _broken(rule_id: str, source: str, module: str, *, modules: frozenset[str] = frozenset()) -> list[str]:
    found = imports_of(source, module, is_module=lambda name: name in modules)
    return [i.name for i in found if _rule(rule_id).broken_by(i)]


@pytest.mark.parametrize("rule_id,source,module,modules,expected", [
    # 1. the core reaching for the web layer, directly or through a framework
    ("core-knows-no-shell", "from qa_web.render import answer_html\n", "qa.answer", (), ["qa_web.render"]),
    ("core-knows-no-shell", "def show():\n    import gradio as gr\n", "qa.answer", (), ["gradio"]),
    ("core-knows-no-shell", "from eval.metrics import hit_at\n", "qa.training", (), ["eval.metrics"]),
    # 2. the encoder reaching into retrieval, absolutely or relatively ("..dense" from qa.encoder.embedder)
    ("encoder-stands-alone", "from qa.passages import Passage\n", "qa.encoder.embedder", (), ["qa.passages"]),
    ("encoder-stands-alone", "from ..dense import View\n", "qa.encoder.embedder", (), ["qa.dense"]),
    # 3. a decision rule reaching into retrieval, or the module hidden behind "from .. import"
    ("decisions-stand-alone", "from ..retriever import Hit\n", "qa.decisions.scope", (), ["qa.retriever"]),
    ("decisions-stand-alone", "from .. import retriever\n", "qa.decisions.scope", ("qa.retriever",), ["qa.retriever"]),
    # 4. the web layer reaching past the front door
    ("web-uses-the-front-door", "from qa.retriever import Hit\n", "qa_web.render", (), ["qa.retriever"]),
    ("web-uses-the-front-door", "from qa import passages\n", "qa_web.render", ("qa.passages",), ["qa.passages"]),
    # 5. eval importing qa when it is imported (at module level, in a class body, under TYPE_CHECKING)
    ("eval-imports-qa-lazily", "from qa import Assistant\n", "eval.runner", (), ["qa"]),
    ("eval-imports-qa-lazily", "class Run:\n    import qa\n", "eval.runner", (), ["qa"]),
    ("eval-imports-qa-lazily", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from qa.training import X\n",
     "eval.crossval", (), ["qa.training"]),
])
def test_rule_fails_on_a_module_that_breaks_it(rule_id, source, module, modules, expected):
    assert _broken(rule_id, source, module, modules=frozenset(modules)) == expected


@pytest.mark.parametrize("rule_id,source,module", [
    ("core-knows-no-shell", "import numpy as np\nfrom .text import words\n", "qa.reading"),
    ("encoder-stands-alone", "from ..errors import ModelNotFound\nfrom .batching import Batcher\n", "qa.encoder.embedder"),
    ("decisions-stand-alone", "from ..text import words\nfrom .triage import Triage\n", "qa.decisions.signals"),
    ("web-uses-the-front-door", "from qa import Assistant\nfrom qa.feedback.store import FeedbackStore\n", "qa_web.api"),
    ("eval-imports-qa-lazily", "def load():\n    from qa import Assistant\n    return Assistant.load()\n", "eval.runner"),
])
def test_rule_passes_a_module_that_keeps_it(rule_id, source, module):
    assert _broken(rule_id, source, module) == []


def test_relative_imports_resolve_from_a_package_init():
    # "from .config import X" in qa/__init__.py is qa.config, not config.
    names = [i.name for i in imports_of("from .config import X\n", "qa", is_package=True, is_module=lambda n: False)]
    assert names == ["qa.config"]
