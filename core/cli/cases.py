"""Working the cases: `earful triage` opens and joins them, `earful send` posts approved replies,
`earful outbox` shows where each reply stands."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from core.cli.common import app, guarded, out, setup_logging


@app.command()
def triage(ctx: typer.Context) -> None:
    """Open and join cases for scored mentions now (the scheduler does this every cases.interval_seconds)."""
    from responder.jobs import ResponderRuntime

    def body() -> Any:
        settings = ctx.obj.settings()
        runtime = ResponderRuntime(settings, ctx.obj.database(settings))
        try:
            return runtime.triage()
        finally:
            runtime.db.dispose()

    result = guarded(body)
    out.print(f"triaged {result.seen} mentions: {result.opened} cases opened, {result.joined} joined "
              f"({result.reopened} reopened), {result.skipped} need no case")


@app.command()
def send(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="One pass, then exit (default: keep sending every sender.interval_seconds)."),
) -> None:
    """Send approved replies from the outbox, after reconciling any a stopped sender left half-sent."""
    from core.services import stop_event_on_signals
    from responder.jobs import ResponderRuntime

    def body() -> None:
        settings = ctx.obj.settings()
        setup_logging(settings)
        runtime = ResponderRuntime(settings, ctx.obj.database(settings))
        stop = None if once else stop_event_on_signals()
        try:
            while True:
                for outcome in runtime.send():
                    out.print(f"reply {outcome.reply_id}: {outcome.state.value} {outcome.detail}", highlight=False)
                if stop is None or stop.wait(settings.responder.sender.interval_seconds):
                    return
        finally:
            runtime.close()
            runtime.db.dispose()

    guarded(body)


@app.command()
def outbox(
    ctx: typer.Context,
    state: Optional[str] = typer.Option(None, "--state", help="Only replies in this state (draft, approved, sending, sent, failed, verify)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List replies and where they stand: failed ones with the platform's reason, verify ones to check."""
    from responder.queue import list_replies

    def work(session: Session) -> list[dict[str, Any]]:
        return [{"id": r.id, "case_id": r.case_id, "platform": r.platform, "state": r.state.value,
                 "attempts": r.attempts, "platform_reply_id": r.platform_reply_id, "url": r.platform_url,
                 "dry_run": r.dry_run, "error": r.error, "text": r.text} for r in list_replies(session, state)]

    rows = ctx.obj.in_session(work)
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("id", "case", "platform", "state", "tries", "platform id / reason", "text")
    for r in rows:
        table.add_row(str(r["id"]), str(r["case_id"]), r["platform"], r["state"] + (" (dry run)" if r["dry_run"] else ""),
                      str(r["attempts"]), r["error"] or r["platform_reply_id"] or "", r["text"][:60])
    out.print(table)
