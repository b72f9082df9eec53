"""The long-running commands: `earful run` (the scheduler), `earful dashboard`, `earful sandbox`
and `earful demo`."""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer

from core.cli.common import Context, app, fail, guarded, out, setup_logging
from core.db import Database


@app.command()
def run(
    ctx: typer.Context,
    role: str = typer.Option(
        "all", "--role",
        help="What this node runs: all, or listener, scorer, sender, alerts (several joined by commas). "
             "Any number of nodes of each role may share one PostgreSQL database.",
    ),
) -> None:
    """Run the scheduler: pollers, scoring, cases and the sender, alerts (Ctrl-C stops)."""
    from core.services import run_scheduler_until_stopped
    from listener.scheduler import parse_roles

    context: Context = ctx.obj
    try:
        roles = parse_roles(role)
    except ValueError as exc:
        fail(f"--role: {exc}", 2)
    settings = guarded(context.settings)
    setup_logging(settings)
    guarded(lambda: run_scheduler_until_stopped(settings, context.config_path(), out.print, roles))


@app.command()
def dashboard(
    ctx: typer.Context,
    port: Optional[int] = typer.Option(None, "--port", help="Overrides dashboard.port."),
) -> None:
    """Serve the Streamlit dashboard."""
    from core.services import dashboard_command

    context: Context = ctx.obj
    if port is not None:
        context.overrides["dashboard.port"] = port
    settings = guarded(context.settings)
    Database.open(settings.database.url).dispose()  # migrate before the first page loads
    os.execvpe(sys.executable, dashboard_command(settings), _dashboard_env(context))


def _dashboard_env(context: Context) -> dict[str, str]:
    env = dict(os.environ)
    path = context.config_path()
    if path:
        env["EARFUL_CONFIG"] = path
    if context.overrides.get("database.url"):
        env["EARFUL_DATABASE__URL"] = context.overrides["database.url"]
    return env


@app.command()
def sandbox(ctx: typer.Context) -> None:
    """Serve the sandbox platforms alone (for `earful run` against them; the demo starts its own)."""
    from core.services import run_sandbox_until_stopped

    settings = guarded(ctx.obj.settings)
    setup_logging(settings)
    guarded(lambda: run_sandbox_until_stopped(settings, out.print))


@app.command()
def demo(
    ctx: typer.Context,
    dashboard_too: bool = typer.Option(True, "--dashboard/--no-dashboard", help="Also serve the dashboard."),
) -> None:
    """Seed the demo brand, start the sandbox platforms, the scheduler and the dashboard."""
    from core.services import run_demo

    context: Context = ctx.obj
    settings = guarded(context.settings)
    setup_logging(settings)
    guarded(lambda: run_demo(settings, context.config_path(), _dashboard_env(context) if dashboard_too else None, out.print))
