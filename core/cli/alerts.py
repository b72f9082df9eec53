"""`earful alerts` (list, acknowledge, detect and deliver now) and the `earful report` of the
metrics in docs/metrics.md."""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from core.cli.common import app, fail, guarded, out
from core.errors import InvalidInput

alerts_app = typer.Typer(help="Spike and operational alerts: list, acknowledge, detect and deliver now.",
                         invoke_without_command=True)


def _parse_when(value: str, option: str, *, end_of_day: bool) -> Any:
    """YYYY-MM-DD (a whole UTC day: --to includes it) or an ISO date-time (UTC when no zone is given)."""
    from datetime import date, datetime, timedelta, timezone

    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end_of_day else 0), datetime.min.time(), timezone.utc)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} {value!r} is not a date; write 2026-03-01 or 2026-03-01T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@app.command()
def report(
    ctx: typer.Context,
    start: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD, UTC) or an ISO date-time."),
    end: str = typer.Option(..., "--to", help="Last day, included (YYYY-MM-DD), or an ISO date-time (excluded)."),
    brand: Optional[str] = typer.Option(None, "--brand", help="One brand (default: every own brand)."),
    platform: Optional[str] = typer.Option(None, "--platform"),
    team: Optional[str] = typer.Option(None, "--team"),
    fmt: str = typer.Option("md", "--format", help="md, csv or json."),
) -> None:
    """Print the metrics of docs/metrics.md for a date range."""
    from core import metrics
    from core import report as rendering
    from core.models import utcnow
    from responder.sla import BusinessCalendar

    if fmt not in rendering.FORMATS:
        fail(f"--format {fmt!r} is not supported; use md, csv or json", 2)

    def body() -> str:
        filters = metrics.Filters(start=_parse_when(start, "--from", end_of_day=False),
                                  end=_parse_when(end, "--to", end_of_day=True), brand=brand, platform=platform, team=team)
        settings = ctx.obj.settings()
        sla = settings.responder.sla
        db = ctx.obj.database(settings)
        try:
            with db.session() as session:
                data = metrics.report(session, filters, calendar=BusinessCalendar.from_config(sla),
                                      policies=sla.policies, now=utcnow())
        finally:
            db.dispose()
        return rendering.render(data, fmt)

    sys.stdout.write(guarded(body))


@alerts_app.callback()
def alerts_list(
    ctx: typer.Context,
    status: Optional[str] = typer.Option(None, "--status", help="open, escalated, acknowledged or resolved."),
    category: Optional[str] = typer.Option(None, "--category", help="reputation (spikes about a brand) or operational "
                                           "(a source, sender or channel needs a human); both when omitted."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List alerts, newest first, with how their notifications went."""
    from core.alerts import list_alerts

    if ctx.invoked_subcommand is not None:
        return
    rows = ctx.obj.in_session(lambda session: list_alerts(session, status=status, category=category))
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("id", "category", "status", "severity", "kind", "about", "opened", "mentions", "notifications", "summary")
    for r in rows:
        sent = ", ".join(f"{n['channel']} {n['event']} {n['state']}" + (f" ({n['error']})" if n["state"] != "sent" and n["error"] else "")
                         for n in r["notifications"]) or "no channel"
        about = r["subject"] or (r["brand"] or "") + (f" / {r['topic']}" if r["topic"] else "")
        table.add_row(str(r["id"]), r["category"], r["status"], r["severity"], r["kind"], Text(about),
                      r["opened_at"][:16], str(r["mentions"]), Text(sent), Text(r["summary"]))  # Text: never markup
    out.print(table)


@alerts_app.command("ack")
def alerts_ack(
    ctx: typer.Context,
    alert_id: int = typer.Argument(...),
    acting_as: str = typer.Option(..., "--as", help="Your Earful username (pr or above; recorded in the audit log)."),
) -> None:
    """Acknowledge an alert: you own it; it still escalates and resolves on its own."""
    from core.alerts import acknowledge
    from core.models import utcnow
    from core.users import get_user

    def ack(session: Session) -> str:
        actor = get_user(session, acting_as)
        if actor is None:
            raise InvalidInput(f"no user {acting_as!r}; list them with `earful users list`")
        return acknowledge(session, actor, alert_id, now=utcnow()).status.value

    out.print(f"alert {alert_id} is {ctx.obj.in_session(ack)}")


@alerts_app.command("check")
def alerts_check(ctx: typer.Context) -> None:
    """Run spike detection once now, then deliver due notifications (the scheduler does both)."""
    from core.alert_jobs import AlertsRuntime

    def body() -> tuple[Any, Any]:
        settings = ctx.obj.settings()
        runtime = AlertsRuntime(settings, ctx.obj.database(settings))
        try:
            return runtime.detect(), runtime.deliver()
        finally:
            runtime.close()
            runtime.db.dispose()

    result, outcomes = guarded(body)
    out.print(f"{result.series} series checked: {len(result.opened)} alerts opened, {len(result.escalated)} escalated, "
              f"{len(result.resolved)} resolved; {sum(o.state.value == 'sent' for o in outcomes)} of {len(outcomes)} "
              "notifications sent", highlight=False)
    for o in outcomes:
        if o.error:
            out.print(f"  notification {o.notification_id} to {o.channel}: {o.state.value}: {o.error}", highlight=False, markup=False)
