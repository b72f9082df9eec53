"""Getting started: `earful init`, `earful config check` and the `earful db` migrations."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import typer
import yaml

from core.cli.common import Context, app, err, fail, guarded, out
from core.config import effective_config
from core.db import Database, current_revision, downgrade, head_revision, upgrade

config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@app.command()
def init(
    directory: Path = typer.Argument(Path("."), help="Folder to write config.yaml into."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing config.yaml."),
) -> None:
    """Write a commented config.yaml to start from (the demo brand, SQLite, sandbox sources)."""
    target = directory / "config.yaml"
    if target.exists() and not force:
        fail(f"{target} exists already; pass --force to overwrite it", 2)
    directory.mkdir(parents=True, exist_ok=True)
    template = resources.files("core").joinpath("default_config.yaml").read_text(encoding="utf-8")
    target.write_text(template, encoding="utf-8")
    out.print(f"wrote {target}; check it with: earful --config {target} config check")


@config_app.command("check")
def config_check(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of YAML."),
    connect: bool = typer.Option(False, "--connect", help="Also connect to the database and report its version."),
) -> None:
    """Validate the configuration, check the database driver imports, and print the effective values
    (secrets masked, ${VAR} values as the file writes them)."""
    from core.db import check_driver, server_version

    context: Context = ctx.obj
    settings = guarded(context.settings)
    driver = guarded(lambda: check_driver(settings.database.url))
    data = effective_config(settings)
    err.print(f"configuration OK ({settings.config_path or 'defaults only'}); database driver {driver}",
              highlight=False, soft_wrap=True)
    if connect:
        err.print(f"database: {guarded(lambda: server_version(settings.database.url))}", highlight=False, soft_wrap=True)
    if as_json:
        print(json.dumps(data, indent=2))
    else:
        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")


# ---------------------------------------------------------------- database

@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: str = typer.Argument("head")) -> None:
    """Apply migrations (Earful also does this on every start)."""
    settings = guarded(ctx.obj.settings)
    db = Database.open(settings.database.url, migrate=False)
    upgrade(db.engine, revision)
    out.print(f"database at revision {current_revision(db.engine)}")


@db_app.command("downgrade")
def db_downgrade(ctx: typer.Context, revision: str = typer.Argument(..., help="Target revision, or 'base'.")) -> None:
    """Revert migrations down to REVISION."""
    settings = guarded(ctx.obj.settings)
    db = Database.open(settings.database.url, migrate=False)
    downgrade(db.engine, revision)
    out.print(f"database at revision {current_revision(db.engine)}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the database's revision and the newest one this Earful knows."""
    settings = guarded(ctx.obj.settings)
    db = Database.open(settings.database.url, migrate=False)
    out.print(f"current: {current_revision(db.engine)}  head: {head_revision(db.engine)}")
