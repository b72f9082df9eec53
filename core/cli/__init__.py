"""The `earful` command line.

Exit status: 0 success; 1 the command ran and failed (a platform error, a permission refused);
2 the command was asked wrongly (bad configuration, bad input file, bad arguments). Every error is
one readable message on stderr, never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, TypeVar

import typer
from sqlalchemy.orm import Session
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from core.config import Settings, effective_config, find_config_path, load_config
from core.db import Database, current_revision, downgrade, head_revision, upgrade
from core.errors import ConfigError, EarfulError, InvalidInput, PermissionDenied
from core.paths import DataPaths

app = typer.Typer(help="Earful: self-hosted social media listening and response.", no_args_is_help=True)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
users_app = typer.Typer(help="Manage staff accounts and roles.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")

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


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.logging.level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.logging.level != "DEBUG":
        # Client libraries log every request at INFO; keep the log about Earful's own work.
        for noisy in ("httpx", "httpcore", "urllib3", "alembic", "apscheduler.executors.default", "apscheduler.scheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


# ---------------------------------------------------------------- init and config

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


# ---------------------------------------------------------------- stats and sources

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


# ---------------------------------------------------------------- users

PASSWORD_HELP = "Prefer the prompt or $EARFUL_NEW_PASSWORD: a flag lands in shell history."
AS_HELP = "Act as this Earful user (an admin; recorded in the audit log). Default: the operator, recorded as 'cli'."


def password_or_prompt(password: Optional[str]) -> str:
    if password is not None:
        return password
    if not sys.stdin.isatty():
        fail("no password given; pass --password, set EARFUL_NEW_PASSWORD, or run in a terminal", 2)
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: str,
    role: str = typer.Option("agent", "--role", help="viewer, agent, pr, manager or admin."),
    team: Optional[str] = typer.Option(None, "--team"),
    name: str = typer.Option("", "--name", help="Display name."),
    password: Optional[str] = typer.Option(None, "--password", envvar="EARFUL_NEW_PASSWORD", help=PASSWORD_HELP),
    acting_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Create a staff account."""
    from core.users import add_user, parse_role

    password = password_or_prompt(password)

    ctx.obj.in_session(lambda session: add_user(session, _acting_admin(session, acting_as), username, password,
                                                parse_role(role), display_name=name, team=team))
    out.print(f"added {username} ({role})")


@users_app.command("list")
def users_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List staff accounts."""
    from core.users import list_users

    rows = ctx.obj.in_session(lambda session: [
        {"username": u.username, "name": u.display_name, "role": u.role.value, "team": u.team,
         "active": u.active, "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
        for u in list_users(session)
    ])
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("username", "name", "role", "team", "active", "last login")
    for r in rows:
        table.add_row(r["username"], r["name"], r["role"], r["team"] or "", "yes" if r["active"] else "no", r["last_login_at"] or "never")
    out.print(table)


@users_app.command("set-role")
def users_set_role(ctx: typer.Context, username: str, role: str,
                   acting_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """Change a user's role (the last active admin keeps theirs)."""
    from core.users import parse_role, set_role

    ctx.obj.in_session(lambda session: set_role(session, _acting_admin(session, acting_as), username, parse_role(role)))
    out.print(f"{username} is now {role}")


@users_app.command("set-team")
def users_set_team(ctx: typer.Context, username: str, team: str = typer.Argument(..., help="Team name; '' for none."),
                   acting_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """Move a user to a team: round-robin assigns new cases to members of the case's team."""
    from core.users import set_team

    ctx.obj.in_session(lambda session: set_team(session, _acting_admin(session, acting_as), username, team))
    out.print(f"{username} is now in team {team or '(none)'}")


@users_app.command("set-password")
def users_set_password(
    ctx: typer.Context,
    username: str,
    password: Optional[str] = typer.Option(None, "--password", envvar="EARFUL_NEW_PASSWORD", help=PASSWORD_HELP),
    acting_as: Optional[str] = typer.Option(None, "--as", help="Act as this Earful user (an admin, or USERNAME "
                                            "themself; recorded in the audit log). Default: the operator, 'cli'."),
) -> None:
    """Set a user's password."""
    from core.users import set_password

    password = password_or_prompt(password)

    ctx.obj.in_session(lambda session: set_password(session, _acting_admin(session, acting_as), username, password))
    out.print(f"password of {username} changed")


@users_app.command("deactivate")
def users_deactivate(ctx: typer.Context, username: str,
                     acting_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """A leaver: they can no longer sign in, and their open dashboard sessions end at their next click."""
    from core.users import deactivate_user

    ctx.obj.in_session(lambda session: deactivate_user(session, _acting_admin(session, acting_as), username))
    out.print(f"{username} is deactivated")


@users_app.command("reactivate")
def users_reactivate(ctx: typer.Context, username: str,
                     acting_as: Optional[str] = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """Let a deactivated user sign in again, with the role and team they had."""
    from core.users import reactivate_user

    ctx.obj.in_session(lambda session: reactivate_user(session, _acting_admin(session, acting_as), username))
    out.print(f"{username} is active again")


# ---------------------------------------------------------------- customers

customers_app = typer.Typer(help="Customer profiles that span platforms.", no_args_is_help=True)
app.add_typer(customers_app, name="customers")


@customers_app.command("link")
def customers_link(
    ctx: typer.Context,
    authors: list[str] = typer.Argument(..., help="Two or more PLATFORM:HANDLE, e.g. x:@jo mastodon:@jo@social.example"),
    acting_as: str = typer.Option(..., "--as", help="Your Earful username (recorded in the audit log)."),
    name: Optional[str] = typer.Option(None, "--name", help="Display name of the customer."),
) -> None:
    """Declare that several platform authors are one customer."""
    from core.customers import link_authors
    from core.users import get_user

    def link(session: Session) -> int:
        actor = get_user(session, acting_as)
        if actor is None:
            raise InvalidInput(f"no user {acting_as!r}; list them with `earful users list`")
        return link_authors(session, actor, authors, name=name).id

    customer_id = ctx.obj.in_session(link)
    out.print(f"linked {len(authors)} authors as customer {customer_id}")


@customers_app.command("history")
def customers_history(
    ctx: typer.Context,
    author: str = typer.Argument(..., help="PLATFORM:HANDLE"),
    limit: int = typer.Option(50, "--limit"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What this person said on every platform, newest first."""
    from core.customers import customer_mentions, find_author, parse_author_ref

    def history(session: Session) -> list[dict[str, Any]]:
        found = find_author(session, *parse_author_ref(author))
        return [
            {"platform": m.platform, "id": m.native_id, "created_at": m.created_at.isoformat(), "text": m.text, "url": m.url}
            for m in customer_mentions(session, found.id, limit=limit)
        ]

    rows = ctx.obj.in_session(history)
    if as_json:
        print(json.dumps(rows))
        return
    for r in rows:
        out.print(f"{r['created_at'][:16]} {r['platform']:<10} {r['text'][:100]}", highlight=False, markup=False)


# ---------------------------------------------------------------- import

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


# ---------------------------------------------------------------- scoring


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


@app.command()
def score(
    ctx: typer.Context,
    limit: Optional[int] = typer.Option(None, "--limit", help="Score at most this many (default: all unscored)."),
) -> None:
    """Score unscored mentions now (the scheduler also does this every sentiment.interval_seconds)."""
    from sentiment.job import chunk_size, score_pending
    from sentiment.scorer import Scorer

    def body() -> int:
        settings = ctx.obj.settings()
        db = ctx.obj.database(settings)
        scorer = Scorer.from_settings(settings.sentiment, paths=DataPaths.of(settings))
        with progress_bars() as report:
            return score_pending(db, scorer, batch_size=chunk_size(settings.sentiment), limit=limit, on_progress=report)

    out.print(f"scored {guarded(body)} mentions")


@app.command("eval")
def eval_(
    ctx: typer.Context,
    file: Optional[Path] = typer.Argument(None, help="CSV with a text column and a label column (positive/negative/neutral)."),
    text_col: str = typer.Option("text", "--text-col"),
    label_col: str = typer.Option("label", "--label-col"),
    tweeteval: bool = typer.Option(False, "--tweeteval", help="Instead of a FILE: the TweetEval sentiment benchmark "
                                   "in sentiment.corpora.tweeteval, beside its published leaderboard."),
    split: str = typer.Option("test", "--split", help="With --tweeteval: test (12,284 tweets) or val (2,000)."),
    group_col: Optional[str] = typer.Option(None, "--group-col", help="Adapt to each group's class mix (e.g. a "
                                            "brand column) instead of the whole file's."),
    no_adapt: bool = typer.Option(False, "--no-adapt", help="Only the model's own labels, not adapted to the "
                                  "file's class mix (sentiment.adaptation)."),
    heads: Optional[Path] = typer.Option(None, "--heads", help="Evaluate these heads (a .npz that earful train "
                                         "wrote) instead of the version in use (the data directory's "
                                         "models/CURRENT, else the packaged sentiment/heads/CURRENT)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Measure the current model and VADER on your own labelled mentions, or on TweetEval, with the
    calibration of the model's probabilities (expected calibration error before and after its temperature)."""
    from sentiment.job import evaluate_csv, evaluate_tweeteval
    from sentiment.scorer import Scorer

    def body() -> dict[str, Any]:
        settings = ctx.obj.settings()
        if (file is None) == (not tweeteval):
            raise InvalidInput("give either a FILE or --tweeteval")
        if file is not None and not file.exists():
            raise InvalidInput(f"{file} does not exist")
        folder = settings.sentiment.corpora.tweeteval
        if tweeteval and not (folder and Path(folder).is_dir()):
            from sentiment.tweets import TWEETEVAL_SOURCE

            raise InvalidInput(f"sentiment.corpora.tweeteval: {folder or 'not set'} is no folder; obtain the "
                               f"benchmark from {TWEETEVAL_SOURCE} and set the key to its folder")
        if group_col and file is None:
            raise InvalidInput("--group-col names a column of FILE; --tweeteval has none")
        if heads is not None and not (heads.suffix == ".npz" and heads.is_file()):
            raise InvalidInput(f"--heads {heads}: no such heads file; give a <version>.npz that `earful train` wrote")
        paths = DataPaths.of(settings)
        scorer = (Scorer.from_settings(settings.sentiment, paths=paths) if heads is None
                  else Scorer.from_settings(settings.sentiment, heads.stem, heads_dir=heads.parent, paths=paths))
        # Adapted as production adapts one brand's stream: the file's rows (or each group) are the stream.
        adaptation = None if no_adapt else settings.sentiment.adaptation
        with progress_bars() as report:
            if file is None:
                return evaluate_tweeteval(Path(folder), scorer, split=split, on_progress=report,  # type: ignore[arg-type]
                                          adaptation=adaptation)
            return evaluate_csv(file, text_col, label_col, scorer, on_progress=report, group_col=group_col,
                                adaptation=adaptation)

    result = guarded(body)
    if as_json:
        print(json.dumps(result))
    else:
        print_evaluation(result)


def print_evaluation(result: dict[str, Any]) -> None:
    """`earful eval`'s figures as tables: both scorers' summary (beside the published leaderboard on
    a benchmark), then for each its per-class precision, recall and F1 and its confusion matrix."""
    from sentiment.postprocess import LABELS

    bench = result.get("benchmark")
    title = f"{bench['name']} {bench['split']}: " if bench else ""
    summary = Table("scorer", "macro-recall", "macro-F1", "accuracy", "texts/s",
                    title=f"{title}n = {result['n']}, model {result.get('model_version', '?')}")
    names = {"model": f"Earful ({result.get('model_version', '?')})", "vader": "VADER (compound ±0.05)",
             "adapted": f"Earful adapted to the mix ({result.get('model_version', '?')})"}
    adapted = bool(result.get("adapted")) and result["adaptation"].get("applied", False)
    shown = ("model", "adapted", "vader") if adapted else ("model", "vader")
    for name in shown:
        r = result[name]
        summary.add_row(Text(names[name]), f"{r['macro_recall']:.4f}", f"{r['macro_f1']:.4f}", f"{r['accuracy']:.4f}",
                        f"{r['texts_per_s']:.0f}")
    for system, recall in (bench or {}).get("published", {}).items():
        summary.add_row(Text(f"{system} (published)"), f"{recall / 100:.3f}", "", "", "")
    out.print(summary)
    adaptation = result.get("adaptation")
    if adaptation:
        out.print(adaptation_summary(adaptation), highlight=False, markup=False)
    calibration = result.get("calibration")
    if calibration and calibration.get("measured"):
        out.print(calibration_summary(calibration), highlight=False, markup=False)
        out.print(reliability_table(calibration))
    for name in shown:
        r = result[name]
        per_class = Table("class", "precision", "recall", "F1", "support", title=f"{names[name]}: per class")
        for label, c in r["per_class"].items():
            per_class.add_row(label, f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", str(c["support"]))
        confusion = Table("gold \\ predicted", *LABELS, title=f"{names[name]}: confusion matrix")
        for gold in LABELS:
            confusion.add_row(gold, *(str(r["confusion"][gold][p]) for p in LABELS))
        out.print(per_class)
        out.print(confusion)


def adaptation_summary(adaptation: dict[str, Any]) -> str:
    """What `earful eval` adapted to: the training mix and each group's estimated mix."""
    if "groups" not in adaptation:
        return f"not adapted: {adaptation['why']}"
    mix = lambda m: "/".join(f"{p:.3f}" for p in m)  # noqa: E731
    lines = [f"adaptation (negative/neutral/positive): training mix {mix(adaptation['base_priors'])}, "
             f"{adaptation['max_iterations']} EM step(s), groups of fewer than {adaptation['min_mentions']} rows "
             "keep the model's own"]
    for g in adaptation["groups"]:
        lines.append(f"  {g['name'] or '(empty)'}: {g['n']} rows, "
                     + (f"estimated mix {mix(g['mix'])}" if g["adapted"] else "too few rows, not adapted"))
    return "\n".join(lines)


def calibration_summary(calibration: dict[str, Any]) -> str:
    """`earful eval`'s calibration figures in one paragraph: the temperature, where it was fitted,
    and ECE, classwise ECE and NLL without it (T = 1) and with it."""
    t, before, after = calibration["temperature"], calibration["before"], calibration["after"]
    where = calibration.get("fitted_on")
    source = (f"fitted by earful train on the {where['split']} split, {where['n']:,} texts" if where
              else "these heads carry no fitted temperature: trained before calibration, or on too few held-out texts")
    return (f"calibration of the model's own probabilities ({calibration['binning']}): temperature {t:.4g} "
            f"({source}); ECE {before['ece']:.4f} before (T = 1), {after['ece']:.4f} after; classwise ECE "
            f"{before['classwise_ece']:.4f} before, {after['classwise_ece']:.4f} after; NLL {before['nll']:.4f} "
            f"before, {after['nll']:.4f} after")


def reliability_table(calibration: dict[str, Any]) -> Table:
    """Each bin of the top probability: how many texts, their mean top probability and how many of
    them the model got right, at T = 1 and at the heads' temperature."""
    bins: dict[float, dict[str, Any]] = {}
    for when in ("before", "after"):
        for b in calibration[when]["reliability"]:
            bins.setdefault(b["lower"], {"upper": b["upper"]})[when] = b
    table = Table("top probability", "n before", "confidence before", "accuracy before", "n after",
                  "confidence after", "accuracy after", title="reliability (the model's own probabilities)")
    for lower in sorted(bins):
        row = bins[lower]
        cells = [f"{lower:.3f}-{row['upper']:.3f}"]
        for when in ("before", "after"):
            b = row.get(when)
            cells += [str(b["n"]), f"{b['confidence']:.4f}", f"{b['accuracy']:.4f}"] if b else ["0", "", ""]
        table.add_row(*cells)
    return table


@app.command()
def train(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Use the new model even if it scores worse on the held-out split."),
    rescore_days: float = typer.Option(7.0, "--rescore-days", help="Re-score mentions of the last N days with a new model."),
    fine_tune: bool = typer.Option(False, "--fine-tune", help="Instead: fine-tune the encoder end to end with a "
                                   "sentiment head (sentiment.fine_tune; resumes from its checkpoint) and compare it "
                                   "with the frozen heads on the held-out split."),
) -> None:
    """Retrain the heads on the human-rated corpora, the SemEval tweets (sentiment.corpora.semeval) and staff
    corrections; keep them only if not worse on the held-out split."""
    from core.models import utcnow
    from sentiment.job import train_command
    from sentiment.train import summary

    if fine_tune:
        print_fine_tune(guarded(lambda: run_fine_tune(ctx.obj.settings(), utcnow())))
        return

    def body() -> dict[str, Any]:
        settings = ctx.obj.settings()
        db = ctx.obj.database(settings)
        with progress_bars() as report:
            return train_command(settings.sentiment, db, now=utcnow(), rescore_days=rescore_days, force=force,
                                 on_progress=report, paths=DataPaths.of(settings))

    result = guarded(body)
    if result["weaker"]:
        out.print(f"warning: {result['weaker']}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    tweets = result["tweets"]
    if tweets:
        out.print(f"SemEval tweets: {tweets['read']} read, {tweets['kept']} kept after dropping {tweets['duplicate_ids']} "
                  f"repeated ids, {tweets['duplicate_texts']} repeated texts, {tweets['conflicting']} copies whose labels "
                  f"disagree and {tweets['in_tweeteval']} tweets TweetEval holds; 10 % held out as \"semeval\"",
                  highlight=False)
    print(summary(result["heldout"]))
    verdict = "now in use" if result["accepted"] else "kept aside: it scored worse than the current model"
    if result["kept_for_tweets"]:
        verdict = ("kept aside: the current model learnt from the SemEval tweets and this one did not "
                   "(set sentiment.corpora.semeval, or --force)")
    if result["examples_only"]:
        verdict += f"; {result['in_use']} (the current heads with the new intent and topic examples) is in use"
    out.print(f"model {result['version']}: {verdict}; {result['corrections']} sentiment corrections and "
              f"{result['labelled_examples']} intent and topic examples used, {result['rescored']} mentions re-scored",
              highlight=False)


@contextmanager
def training_bar(console: Console = err) -> Iterator[Callable[[int, int, float], None]]:
    """The fine-tuning bar on stderr: steps done of all, the mean loss of the latest steps, the time
    spent and the estimated time left. A resumed run's bar starts at its checkpoint's step."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TextColumn("ETA"),
                  TimeRemainingColumn(), console=console) as progress:
        task: list[Any] = []

        def report(done: int, total: int, loss: float) -> None:
            if not task:
                task.append(progress.add_task("fine-tuning", total=total, completed=done - 1, loss="-"))
            progress.update(task[0], completed=done, total=total, loss=f"{loss:.4f}")

        yield report


def run_fine_tune(settings: Settings, now: Any) -> dict[str, Any]:
    """`earful train --fine-tune`'s work: Ctrl-C (or SIGTERM) asks the run to checkpoint and stop after
    its current step; a second Ctrl-C stops at once."""
    import signal
    import threading

    from sentiment.job import fine_tune_command

    stop = threading.Event()

    def ask_to_stop(signum: int, frame: Any) -> None:
        err.print("stopping after this step, with a checkpoint (Ctrl-C again to stop at once)", markup=False)
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {sig: signal.signal(sig, ask_to_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with training_bar() as report:
            return fine_tune_command(settings.sentiment, now=now, stop=stop, on_step=report, paths=DataPaths.of(settings),
                                     say=lambda text: err.print(text, markup=False, highlight=False, soft_wrap=True))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def print_fine_tune(result: dict[str, Any]) -> None:
    """What `earful train --fine-tune` did: where it stopped, or the frozen-vs-fine-tuned table and the verdict."""
    minutes = result["wall_s"] / 60
    done = (f"{result['step']} of {result['total_steps']} steps ({result['epochs']:.2f} epochs) on {result['device']}, "
            f"{minutes:.1f} minutes this run, {result['train_s'] / 60:.1f} minutes of training in all")
    if result["weaker"]:
        out.print(f"warning: {result['weaker']}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    if not result["finished"]:
        why = "at sentiment.fine_tune.max_minutes" if result["stopped_by"] == "max_minutes" else "as asked"
        out.print(f"stopped {why} after {done}; checkpoint {result['checkpoint']}; run the same command again "
                  "to resume from it" + ("; the model as it stands is measured below" if "version" in result else ""),
                  highlight=False, markup=False, soft_wrap=True)
        if "version" not in result:
            return
    else:
        out.print(f"fine-tuned {done}", highlight=False, markup=False, soft_wrap=True)
    out.print(f"mean loss {result['loss_first']} over the first 100 steps, {result['loss_last']} over the last 100",
              highlight=False, markup=False)
    comparison = result["comparison"]
    table = Table("corpus", "n", f"frozen heads ({result['frozen_version'] or 'none'})", "fine-tuned", "difference",
                  title=f"held-out macro-F1, model {result['version']}")
    rows = comparison["rows"] or [{"corpus": c, "n": v["n"], "fine_tuned": v["model"]} for c, v in result["heldout"].items()]
    for r in rows:
        table.add_row(r["corpus"], str(r["n"]), f"{r['frozen']:.4f}" if "frozen" in r else "",
                      f"{r['fine_tuned']:.4f}", f"{r['difference']:+.4f}" if "difference" in r else "")
    out.print(table)
    verdict = ("beats the frozen heads" if comparison["beats"] else "does not beat the frozen heads") + f": {comparison['why']}"
    out.print(f"{verdict}. Saved in {result['model_dir']}; it is not put in use: sentiment.model may name that folder "
              "(then `earful train` fits the heads on its vectors; docs/model.md, \"Fine-tuning\", says what that costs "
              "intent, topics and suggestions)", highlight=False, markup=False, soft_wrap=True)


# ---------------------------------------------------------------- alerts and reports

alerts_app = typer.Typer(help="Spike and operational alerts: list, acknowledge, detect and deliver now.",
                         invoke_without_command=True)
app.add_typer(alerts_app, name="alerts")


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


# ---------------------------------------------------------------- run, dashboard, demo

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
        _setup_logging(settings)
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
    import sqlalchemy as sa

    from core.models import Reply, ReplyState

    def work(session: Session) -> list[dict[str, Any]]:
        query = sa.select(Reply).order_by(Reply.id.desc()).limit(500)
        if state:
            try:
                query = query.where(Reply.state == ReplyState(state))
            except ValueError:
                raise InvalidInput(f"unknown state {state!r}; use one of {', '.join(s.value for s in ReplyState)}") from None
        return [{"id": r.id, "case_id": r.case_id, "platform": r.platform, "state": r.state.value,
                 "attempts": r.attempts, "platform_reply_id": r.platform_reply_id, "url": r.platform_url,
                 "dry_run": r.dry_run, "error": r.error, "text": r.text} for r in session.scalars(query)]

    rows = ctx.obj.in_session(work)
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("id", "case", "platform", "state", "tries", "platform id / reason", "text")
    for r in rows:
        table.add_row(str(r["id"]), str(r["case_id"]), r["platform"], r["state"] + (" (dry run)" if r["dry_run"] else ""),
                      str(r["attempts"]), r["error"] or r["platform_reply_id"] or "", r["text"][:60])
    out.print(table)


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
    _setup_logging(settings)
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
    _setup_logging(settings)
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
    _setup_logging(settings)
    guarded(lambda: run_demo(settings, context.config_path(), _dashboard_env(context) if dashboard_too else None, out.print))


# ---------------------------------------------------------------- erasure and retention

retention_app = typer.Typer(help="Delete mentions older than retention.days.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")


def _acting_admin(session: Session, acting_as: Optional[str]) -> Any:
    """The named user, or for a bare CLI call the operator, who already holds the configuration and
    the database (as for `earful users`): recorded as "cli"."""
    from core.users import get_user, operator

    if acting_as is None:
        return operator("cli")
    actor = get_user(session, acting_as)
    if actor is None:
        raise InvalidInput(f"no user {acting_as!r}; list them with `earful users list`")
    return actor


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
            lambda session: customer_erasure_preview(session, _acting_admin(session, acting_as), customer))
        who, count = f"customer {preview.customer_id} ({', '.join(preview.accounts) or 'no accounts'})", preview.mentions

        def erase(session: Session) -> Any:
            return erase_customer(session, _acting_admin(session, acting_as), preview.customer_id)
    else:
        platform, handle = guarded(lambda: parse_author_ref(author))
        who = author
        count = ctx.obj.in_session(lambda session: erasure_preview(session, _acting_admin(session, acting_as), platform, handle))

        def erase(session: Session) -> Any:
            return erase_author(session, _acting_admin(session, acting_as), platform, handle)
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
