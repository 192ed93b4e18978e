"""Command line for the evaluation: ``python -m eval``.

Parses options, calls the runner, scoring and report modules, and turns
their errors into a one-line message on stderr and an exit code (2: bad
questions file or options, 1: the assistant could not be loaded or failed).
stdout carries only the result (with ``--json``: one JSON object), so it can
be piped; the progress bar and notes go to stderr. No logic lives here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from eval.dataset import DEFAULT_QUESTIONS, DatasetError, load_questions

EXIT_ASSISTANT = 1
EXIT_USAGE = 2

DESCRIPTION = """\
Evaluate the hip-injection FAQ assistant on a questions CSV.

Every question is sent through the same qa API the app uses
(Assistant.ask). A returned passage is a hit when its plain text (Markdown
stripped, case and whitespace folded) contains one of the row's gold quotes.

Metrics: hit@1, hit@3, hit@5, mrr@10 (ranking, every row with a quote,
abstention ignored); answer@1 (in-scope rows answered with a hit first);
oos_abstain; false_abstain; red_flag_recall; false_urgent; p50_ms and p95_ms
(latency of one ask() call); n (rows per kind). A share over no rows is null.
"""

EPILOG = """\
questions CSV: columns id,question,kind,answer_quote (extra columns are
ignored). kind is faq, paraphrase, section, out_of_scope or red_flag; any
other kind counts as in-scope. answer_quote holds verbatim snippets of the
corpus separated by ||, and is empty exactly for out_of_scope rows.

examples:
  python -m eval                         # summary of the default settings
  python -m eval --json > metrics.json   # one JSON object on stdout
  python -m eval --out eval/out          # metrics.json, per_question.csv,
                                         # report.md, hit_at_k.png
  python -m eval --compare               # one row per retrieval variant
  python -m eval --questions mine.csv --k 5
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", default=str(DEFAULT_QUESTIONS), metavar="FILE",
                        help="questions CSV (default: eval/sets/questions.csv)")
    parser.add_argument("--k", type=_positive_int, default=10,
                        help="passages requested per question (default: 10); with k < 10, hit@5 and mrr@10 "
                             "only see the first k")
    parser.add_argument("--json", action="store_true",
                        help="print the metrics as one JSON object on stdout and nothing else "
                             "(with --compare: an object keyed by variant)")
    parser.add_argument("--out", metavar="DIR",
                        help="write metrics.json, per_question.csv, report.md and hit_at_k.png into DIR "
                             "(with --compare: compare.json and compare.md)")
    parser.add_argument("--compare", action="store_true",
                        help="run every retrieval variant (dense, bm25, hybrid, ..., default) "
                             "and print one Markdown table, a row per variant")
    parser.add_argument("--dialogues", nargs="?", const="eval/dialogues.csv", metavar="FILE",
                        help="score the follow-up turns of a dialogues CSV (default eval/dialogues.csv), "
                             "each asked alone and with the earlier questions as history")
    parser.add_argument("--cross-validate", action="store_true",
                        help="leave one set out: for each set in eval/sets/, fit the learned decisions on the other "
                             "sets, then score it (the rules alone in brackets); prints a row per set and the mean")
    parser.add_argument("--techniques", default="", metavar="NAMES",
                        help="with --cross-validate: score only these (comma-separated: rules, learned, alternates, "
                             "shipped; shipped alone fits once per set, half the time); default all")
    parser.add_argument("--urgency-folds", nargs="?", type=_positive_int, const=8, metavar="N",
                        help="the urgency decision alone, fitted as a build fits it on the sets of all but one of N "
                             "folds (default 8) and judged on that one: missed red flags and false alarms, in minutes")
    parser.add_argument("--new-sets", default="", metavar="NAMES",
                        help="with --urgency-folds: also fit on every set but these (comma-separated names in "
                             "eval/sets/) and judge them")
    parser.add_argument("--word-weight", type=float, metavar="W",
                        help="with --urgency-folds: the word features' weight (default: the shipped one)")
    parser.add_argument("--veto-share", type=float, metavar="S",
                        help="with --urgency-folds: the veto's share of the least real warning (default: shipped)")
    parser.add_argument("--veto-quantile", type=float, metavar="Q",
                        help="with --urgency-folds: the veto reads this quantile of the real warnings' probabilities "
                             "instead of the least (default: shipped, 0)")
    parser.add_argument("--no-sentences", action="store_true",
                        help="with --urgency-folds: the message's vector alone, without its sentences'")
    parser.add_argument("--frontier", action="store_true",
                        help="with --urgency-folds: also the fewest false alarms any one fixed cut and veto reaches "
                             "on the folds' probabilities, for each number of missed red flags allowed")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar on stderr")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


#: Options that only mean something with --urgency-folds, and their argparse names.
URGENCY_FOLD_OPTIONS = {"--new-sets": "new_sets", "--word-weight": "word_weight", "--veto-share": "veto_share",
                        "--veto-quantile": "veto_quantile", "--no-sentences": "no_sentences", "--frontier": "frontier"}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Imported here so `--help` and dataset errors answer instantly.
    from eval import report, runner, scoring

    if args.dialogues:
        return _dialogues(args.dialogues, as_json=args.json, k=args.k)
    if args.cross_validate:
        return _cross_validate(as_json=args.json, k=args.k, out=args.out, progress=not args.no_progress,
                               techniques=args.techniques)
    if args.urgency_folds:
        return _urgency_folds(args)
    alone = [flag for flag, given in URGENCY_FOLD_OPTIONS.items() if getattr(args, given) not in (None, False, "")]
    if alone:
        print(f"error: {', '.join(alone)} only go with --urgency-folds", file=sys.stderr)
        return EXIT_USAGE
    try:
        questions = load_questions(args.questions)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    progress = not args.no_progress
    try:
        assistant = runner.load_assistant()
        if args.compare:
            runs = runner.run_variants(assistant, questions, k=args.k, progress=progress)
            results = {name: scoring.evaluate(questions, outcomes).metrics for name, outcomes in runs.items()}
        else:
            evaluation = scoring.evaluate(questions, runner.run(assistant, questions, k=args.k, progress=progress))
    except runner.EvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ASSISTANT

    if args.compare:
        table = report.compare_table(results)
        if args.out:
            _write_compare(args.out, results, table)
        print(json.dumps(results) if args.json else table)
        return 0
    if args.out:
        paths = report.write_artifacts(evaluation, args.out)
        print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    print(json.dumps(evaluation.metrics) if args.json else report.summary_text(evaluation.metrics))
    return 0


def _guarded(work):
    """``(work(), None)``, or ``(None, exit code)`` after one error line for a bad dataset or a failing assistant."""
    from eval import runner

    try:
        return work(), None
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None, EXIT_USAGE
    except runner.EvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None, EXIT_ASSISTANT


def _dialogues(path: str, *, as_json: bool, k: int) -> int:
    from eval import report, runner
    from eval.dialogues import evaluate_dialogues, load_follow_ups

    results, failed = _guarded(lambda: evaluate_dialogues(runner.load_assistant(), load_follow_ups(path), k=k))
    if failed is not None:
        return failed
    print(json.dumps(results) if as_json else report.compare_table(results))
    return 0


def _cross_validate(*, as_json: bool, k: int, out: str | None, progress: bool, techniques: str = "") -> int:
    from eval import crossval, runner
    from eval.dataset import question_sets
    from eval.report import fmt_metric

    try:
        only = crossval.techniques_named(techniques)
    except ValueError as exc:  # before an hour's run, not at its end
        print(f"--techniques: {exc}", file=sys.stderr)
        return EXIT_USAGE

    def each_set(name: str, metrics: dict) -> None:  # a long run shows its rows as they come
        shipped = metrics["shipped"]
        print(f"{name}: " + ", ".join(f"{key} {fmt_metric(key, shipped.get(key))}" for key in crossval.MEAN_KEYS),
              file=sys.stderr, flush=True)

    results, failed = _guarded(
        lambda: crossval.cross_validate(runner.load_assistant(), question_sets(), k=k, progress=progress,
                                        only=only, on_set=each_set))
    if failed is not None:
        return failed
    text = crossval.table(results) + "\n\n" + crossval.technique_table(results)
    if out:
        from pathlib import Path

        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "crossval.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        (Path(out) / "crossval.md").write_text(text + "\n", encoding="utf-8")
    print(json.dumps(results) if as_json else text)
    return 0


def _urgency_folds(args) -> int:
    from dataclasses import asdict

    from eval import runner
    from eval.urgency_folds import frontier, frontier_table, table, urgency_folds

    settings = {"sentences": not args.no_sentences}
    if args.word_weight is not None:
        settings["word_weight"] = args.word_weight
    if args.veto_share is not None:
        settings["veto_share"] = args.veto_share
    if args.veto_quantile is not None:
        settings["veto_quantile"] = args.veto_quantile
    new_sets = [name.strip() for name in args.new_sets.split(",") if name.strip()]
    try:
        results, failed = _guarded(lambda: urgency_folds(runner.load_assistant(), folds=args.urgency_folds,
                                                         new_sets=new_sets, **settings))
    except ValueError as exc:  # a set name that is not in eval/sets/
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if failed is not None:
        return failed
    points = frontier(results["scored"]) if args.frontier else None
    if args.json:
        print(json.dumps({"folds": [[names, asdict(c)] for names, c in results["folds"]],
                          "total": asdict(results["total"]),
                          "new_sets": asdict(results["new_sets"]) if results["new_sets"] else None,
                          "frontier": [asdict(p) for p in points] if points is not None else None}))
    else:
        print(table(results))
        if points is not None:
            print("\n" + frontier_table(points, results["total"]))
    return 0


def _write_compare(out_dir: str, results: dict, table: str) -> None:
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "compare.md").write_text(table + "\n", encoding="utf-8")
    print(f"wrote {out / 'compare.json'}, {out / 'compare.md'}", file=sys.stderr)
