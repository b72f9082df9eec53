"""What every `earful` command shares: the typer app and its global options, the two consoles
(results on stdout, messages and progress on stderr), and the error handling that turns Earful's
errors into one message and an exit status (0 success; 1 the command ran and failed; 2 it was asked
wrongly).

The command modules beside this one register their commands on `app`; `core.cli` imports them all.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from core.config import Settings, find_config_path, load_config
from core.db import Database
from core.errors import ConfigError, EarfulError, InvalidInput, PermissionDenied

app = typer.Typer(help="Earful: self-hosted social media listening and response.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)
T = TypeVar("T")


@dataclass
class Context:
    config: Optional[str]
    overrides: dict[str, Any]

    def settings(self) -> Settings:
        return load_config(self.config, overrides=self.overrides)

    def config_path(self) -> Optional[str]:
        path = find_config_path(self.config, os.environ)
        return str(path.resolve()) if path else None

    def database(self, settings: Settings | None = None) -> Database:
        settings = settings or self.settings()
        return Database.open(settings.database.url, echo=settings.database.echo)

    def in_session(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction on the configured database; errors become messages."""

        def body() -> T:
            db = self.database()
            try:
                with db.session() as session:
                    return work(session)
            finally:
                db.dispose()

        return guarded(body)


def fail(message: str, code: int) -> None:
    # The message is text, not markup: "psycopg[binary]" or "[x]" in it must print as written.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def guarded(fn: Callable[[], T]) -> T:
    """Run a command body, turning Earful's errors into one message and the right exit status."""
    try:
        return fn()
    except ConfigError as exc:
        fail(str(exc), 2)
    except InvalidInput as exc:
        fail(str(exc), 2)
    except PermissionDenied as exc:
        fail(str(exc), 1)
    except EarfulError as exc:
        fail(str(exc), 1)
    except Exception as exc:  # a read-only database file or a full disk: say so, not a traceback
        from core.db import storage_error

        problem = storage_error(exc)
        if problem is None:
            raise
        fail(str(problem), 1)
    raise AssertionError("unreachable")


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Config file (default: $EARFUL_CONFIG, then ./config.yaml)."),
    database_url: Optional[str] = typer.Option(None, "--database-url", help="Overrides database.url."),
    log_level: Optional[str] = typer.Option(None, "--log-level", help="Overrides logging.level (DEBUG, INFO, WARNING, ERROR)."),
) -> None:
    ctx.obj = Context(config, {"database.url": database_url, "logging.level": log_level.upper() if log_level else None})


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.logging.level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.logging.level != "DEBUG":
        # Client libraries log every request at INFO; keep the log about Earful's own work.
        for noisy in ("httpx", "httpcore", "urllib3", "alembic", "apscheduler.executors.default", "apscheduler.scheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int, Optional[int]], None]]:
    """Rich progress bars on stderr, one per step, fed by the (step, done, total) reports of
    sentiment.job and core.privacy; stdout keeps only the command's result (`--json` stays JSON).
    Off a terminal rich draws nothing, so logs and pipes stay clean."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        steps: dict[str, Any] = {}

        def report(step: str, done: int, total: Optional[int]) -> None:
            if step not in steps:
                steps[step] = progress.add_task(step, total=total)
            progress.update(steps[step], completed=done, total=total)

        yield report


def acting_admin(session: Session, acting_as: Optional[str]) -> Any:
    """The named user, or for a bare CLI call the operator, who already holds the configuration and
    the database (as for `earful users`): recorded as "cli"."""
    from core.users import get_user, operator

    if acting_as is None:
        return operator("cli")
    actor = get_user(session, acting_as)
    if actor is None:
        raise InvalidInput(f"no user {acting_as!r}; list them with `earful users list`")
    return actor
