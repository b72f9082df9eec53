"""The `earful` command line.

Exit status: 0 success; 1 the command ran and failed (a platform error, a permission refused);
2 the command was asked wrongly (bad configuration, bad input file, bad arguments). Every error is
one readable message on stderr, never a traceback.

One module per group of commands, each registering on the one typer `app` of `core.cli.common`
(which also holds the global options and the error handling):

- `setup`: init, config check, db upgrade / downgrade / current
- `listening`: stats, sources, import
- `people`: users ..., customers ...
- `sentiment`: score, eval, train (and --fine-tune)
- `alerts`: report, alerts ...
- `cases`: triage, send, outbox
- `serve`: run, dashboard, sandbox, demo
- `privacy`: erase, retention apply

They are imported below in that order, which is the order `earful --help` lists the commands in.
"""

from __future__ import annotations

from core.cli import setup, listening, people, sentiment, alerts, cases, serve, privacy
from core.cli.common import app
from core.cli.sentiment import training_bar

# The command groups, in the order `earful --help` lists them.
app.add_typer(setup.config_app, name="config")
app.add_typer(people.users_app, name="users")
app.add_typer(setup.db_app, name="db")
app.add_typer(people.customers_app, name="customers")
app.add_typer(alerts.alerts_app, name="alerts")
app.add_typer(privacy.retention_app, name="retention")

__all__ = ["app", "main", "training_bar"]


def main() -> None:
    app()
