"""Personal data: `earful erase` (a person, for GDPR) and `earful retention apply`."""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import typer
from sqlalchemy.orm import Session

from core.cli.common import acting_admin, app, fail, guarded, out, progress_bars
from core.errors import InvalidInput

retention_app = typer.Typer(help="Delete mentions older than retention.days.", no_args_is_help=True)


@app.command()
def erase(
    ctx: typer.Context,
    author: Optional[str] = typer.Option(None, "--author", help="PLATFORM:HANDLE or PLATFORM:NATIVE_ID, e.g. mastodon:@jo@social.example"),
    customer: Optional[str] = typer.Option(None, "--customer", help="A customer profile's id (or PLATFORM:HANDLE of one "
                                           "of its accounts): erases every linked account at once."),
    acting_as: Optional[str] = typer.Option(None, "--as", help="Your Earful username (admin; recorded in the audit log)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Erase a person (GDPR): their mentions, scores, cases, notes, survey answers and profile."""
    from core.customers import parse_author_ref
    from core.privacy import customer_erasure_preview, erase_author, erase_customer, erasure_preview

    if (author is None) == (customer is None):
        fail("name the person to erase with either --author PLATFORM:HANDLE or --customer ID, not both", 2)
    if customer is not None:
        preview = ctx.obj.in_session(
            lambda session: customer_erasure_preview(session, acting_admin(session, acting_as), customer))
        who, count = f"customer {preview.customer_id} ({', '.join(preview.accounts) or 'no accounts'})", preview.mentions

        def erase(session: Session) -> Any:
            return erase_customer(session, acting_admin(session, acting_as), preview.customer_id)
    else:
        platform, handle = guarded(lambda: parse_author_ref(author))
        who = author
        count = ctx.obj.in_session(lambda session: erasure_preview(session, acting_admin(session, acting_as), platform, handle))

        def erase(session: Session) -> Any:
            return erase_author(session, acting_admin(session, acting_as), platform, handle)
    if not yes:
        if not sys.stdin.isatty():
            fail("erasing cannot be undone; pass --yes to confirm", 2)
        typer.confirm(f"Erase everything Earful holds about {who} ({count} mentions)? This cannot be undone",
                      abort=True)
    result = ctx.obj.in_session(erase)
    if as_json:
        print(json.dumps(result.as_dict()))
        return
    out.print(f"erased {who}: {result.mentions} mentions, {result.cases_deleted} cases deleted, "
              f"{result.replies_kept} published replies kept (redacted); reference {result.reference}",
              highlight=False, markup=False)
    if result.linked_authors:
        out.print(f"the same customer profile also holds {', '.join(result.linked_authors)}; erase those too "
                  f"if they are the same person (all at once: earful erase --customer {result.linked_authors[0]})",
                  highlight=False, markup=False)


@retention_app.command("apply")
def retention_apply(
    ctx: typer.Context,
    days: Optional[int] = typer.Option(None, "--days", help="Overrides retention.days for this run."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Delete mentions older than N days now (the scheduler does this every retention.interval_seconds)."""
    from core.models import utcnow
    from core.privacy import run_retention

    def body() -> dict[str, Any]:
        settings = ctx.obj.settings()
        keep = days if days is not None else settings.retention.days
        if keep is None:
            raise InvalidInput("retention.days is not set (mentions are kept forever); pass --days N or set it in the config")
        if keep < 1:
            raise InvalidInput(f"--days must be at least 1, not {keep}")
        db = ctx.obj.database(settings)
        try:
            with progress_bars() as report:
                return run_retention(db, keep, utcnow(), on_progress=report).as_dict()
        finally:
            db.dispose()

    result = guarded(body)
    if as_json:
        print(json.dumps(result))
        return
    out.print(f"deleted {result['mentions']} mentions ({result['scores']} scores), {result['cases']} closed cases, "
              f"{result['authors']} authors, {result['customers']} customers created before {result['cutoff'][:16]}",
              highlight=False)
