"""What was collected: `earful stats`, `earful sources` and the `earful import` backfill."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from core.cli.common import app, err, fail, guarded, out


@app.command()
def stats(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """Counts of mentions, scores, cases, replies and alerts."""
    from core.stats import stats as compute

    figures = ctx.obj.in_session(compute)
    if as_json:
        print(json.dumps(figures))
        return
    table = Table("what", "count")
    table.add_row("mentions", str(figures["mentions"]))
    table.add_row("scored", str(figures["scored"]))
    for status, n in figures["cases"].items():
        table.add_row(f"cases {status}", str(n))
    for state, n in figures["replies"].items():
        table.add_row(f"replies {state}", str(n))
    table.add_row("alerts", str(figures["alerts"]))
    out.print(table)


@app.command()
def sources(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Each source's health, last success, last error, items collected and API spend."""
    from core.catalog import source_health

    def body() -> list[dict[str, Any]]:
        settings = ctx.obj.settings()
        db = ctx.obj.database(settings)
        with db.session() as session:
            return source_health(session, settings)

    rows = guarded(body)
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table("source", "platform", "health", "last success", "collected", "spend $", "last error")
    for r in rows:
        table.add_row(
            r["name"], r["platform"], r["health"], str(r["last_success_at"] or "never"),
            str(r["items_collected"]), f"{r['api_spend_usd']:.3f}", r["last_error"] or "",
        )
    out.print(table)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV or JSONL export to backfill."),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv or jsonl (default: from the file name)."),
    platform: str = typer.Option("import", "--platform", help="Platform the rows came from (x, reddit, ..., or import)."),
    id_col: str = typer.Option("id", "--id-col"),
    text_col: str = typer.Option("text", "--text-col"),
    time_col: str = typer.Option("created_at", "--time-col"),
    author_col: str = typer.Option("author", "--author-col"),
    url_col: str = typer.Option("url", "--url-col"),
    show: int = typer.Option(20, "--show", help="How many rejected/duplicate rows to list."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Backfill mentions from a CSV or JSONL file; dedupes and reports every rejected row."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from core.mention import PLATFORMS
    from listener.enrich import BrandMatcher
    from listener.fileimport import ImportOptions, import_file

    if fmt not in (None, "csv", "jsonl"):
        fail(f"--format {fmt!r} is not supported; use csv or jsonl", 2)
    if platform not in PLATFORMS:
        fail(f"--platform {platform!r} is unknown; use one of {', '.join(PLATFORMS)}", 2)
    if not file.exists():
        fail(f"{file} does not exist", 2)
    options = ImportOptions(
        format=fmt, platform=platform, id_col=id_col, text_col=text_col, time_col=time_col,  # type: ignore[arg-type]
        author_col=author_col, url_col=url_col,
    )

    def body() -> Any:
        settings = ctx.obj.settings()
        db = ctx.obj.database(settings)
        matcher = BrandMatcher.from_brands(settings.brands) if settings.brands else None
        with Progress(
            TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err, transient=True, disable=as_json,
        ) as progress:
            task = progress.add_task("rows", total=None)
            return import_file(db, file, options, matcher=matcher, on_progress=lambda n: progress.update(task, completed=n))

    report = guarded(body)
    if as_json:
        print(json.dumps({
            "rows": report.rows, "inserted": report.inserted,
            "duplicates": [dataclasses.asdict(d) for d in report.duplicates],
            "rejected": [dataclasses.asdict(r) for r in report.rejected],
        }))
        return
    out.print(
        f"{report.rows} rows: {report.inserted} inserted, {len(report.duplicates)} duplicates, "
        f"{len(report.rejected)} rejected", highlight=False,
    )
    for kind, issues in (("rejected", report.rejected), ("duplicate", report.duplicates)):
        for issue in issues[:show]:
            out.print(f"  {kind} {issue}", highlight=False, markup=False)
        if len(issues) > show:
            out.print(f"  ... and {len(issues) - show} more {kind} rows (--json lists all)", highlight=False)
