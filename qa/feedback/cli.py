"""``python -m qa feedback list | export | purge | add-user``: the review work without the page.

Registered by ``qa.cli``; opens the same store as ``python app.py`` (same
``--data-dir`` / ``QA_DATA_DIR`` and ``--database-url``). Library errors are
turned into one line and exit code 2 by ``qa.cli``; no logic lives here.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from .store import KINDS, STATUSES


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "feedback", help="kept patient feedback (only when the app runs with --collect-feedback)",
        description="List, export or purge the redacted messages kept by `python app.py --collect-feedback`.",
        epilog=textwrap.dedent("""\
            examples:
              python -m qa feedback list --status new          messages waiting for review
              python -m qa feedback export --out rows.csv      reviewed messages as eval rows
              python -m eval --questions rows.csv              ...which the evaluation runs
              python -m qa feedback purge                      delete what is past retention, now
              python -m qa feedback add-user alice             add a staff account for /admin/ (asks a password)"""),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="folder of the SQLite store and accounts file (env QA_DATA_DIR; default data/)")
    parser.add_argument("--database-url", help="SQLAlchemy URL instead of SQLite, e.g. postgresql+psycopg://... "
                                               "(env QA_DATABASE_URL)")
    parser.add_argument("--retention-days", type=int, help="days a message is kept (env QA_RETENTION_DAYS; default 30)")
    actions = parser.add_subparsers(dest="feedback_command", required=True, metavar="action")
    listing = actions.add_parser("list", help="print kept messages, oldest first")
    listing.add_argument("--status", choices=STATUSES, help="only this status (default: all)")
    listing.add_argument("--kind", choices=KINDS, help="only unanswered or disliked messages")
    export = actions.add_parser("export", help="write reviewed messages as eval rows (id,question,kind,answer_quote)")
    export.add_argument("--out", required=True, help="CSV file to write")
    purge = actions.add_parser("purge", help="delete messages past retention now (or every message with --all)")
    purge.add_argument("--all", action="store_true", help="delete every kept message")
    user = actions.add_parser("add-user", help="add or replace a staff account (argon2 hash in the accounts file)")
    user.add_argument("name")
    user.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def run(args, _locations) -> int:
    from .config import resolve_feedback_config

    config = resolve_feedback_config(data_dir=args.data_dir, database_url=args.database_url,
                                     retention_days=args.retention_days)
    if args.feedback_command == "add-user":
        return _add_user(args, config)
    from .store import FeedbackStore

    store = FeedbackStore.open(config.database_url)
    try:
        return {"list": _list, "export": _export, "purge": _purge}[args.feedback_command](args, store, config)
    finally:
        store.close()


def _list(args, store, _config) -> int:
    rows = store.messages(status=args.status, kind=args.kind)
    for m in rows:
        print(f"{m.id:>5}  {m.created_at:%Y-%m-%d %H:%M}  {m.kind:<10}  {m.status:<11}  {m.reason or '-':<18}  "
              f"{m.question}")
    print(f"{len(rows)} message(s)")
    return 0


def _export(args, store, _config) -> int:
    from .export import EXPORTED, eval_rows, write_rows

    rows = eval_rows(store.messages(status=EXPORTED))
    write_rows(args.out, rows)
    print(f"wrote {len(rows)} row(s) to {args.out}; run: python -m eval --questions {args.out}")
    return 0


def _purge(args, store, config) -> int:
    from .retention import RetentionJob

    deleted = store.delete_all() if args.all else RetentionJob(store, days=config.retention_days).run_once()
    print(f"deleted {deleted} message(s)" + ("" if args.all else f" older than {config.retention_days} days"))
    return 0


def _add_user(args, config) -> int:
    import getpass

    from .accounts import add_account

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    add_account(config.admin_users_file, args.name, password)
    print(f"saved {args.name} in {config.admin_users_file}")
    return 0
