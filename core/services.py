"""Long-running processes behind `earful run`, `earful dashboard` and `earful demo`.

Each one starts what it needs, prints where to find it, and on Ctrl-C (SIGINT) or SIGTERM stops
everything it started, in reverse order.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

from core.config import Settings
from core.db import Database
from core.errors import EarfulError

DEMO_PASSWORD = "earful-demo"
DEMO_USERS = (("agent", "agent", "Ada Agent", "care"), ("pr", "pr", "Pat PR", "comms"),
              ("manager", "manager", "Max Manager", "senior"), ("admin", "admin", "Alex Admin", None))


def stop_event_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def start_scheduler(settings: Settings, config_path: str | None, db: Database, roles: tuple[str, ...] | None = None):  # type: ignore[no-untyped-def]
    """Start the jobs of `roles` (every role by default) on a background scheduler.

    Returns (scheduler, runtime, job ids). The listener's runtime is built by every node: it brings
    the brands and sources of the config into the database, one node at a time.
    """
    from listener.jobs import Runtime, install_runtime
    from core import alert_jobs
    from core.runtimes import install_database
    from listener import scheduler as jobs_module
    from responder import jobs as responder_jobs

    roles = roles or jobs_module.ROLES
    install_database(config_path, db)
    with db.exclusive("earful.catalog", wait=True):  # nodes starting together sync the catalog in turn
        runtime = Runtime(settings, db)
    install_runtime(config_path, runtime)
    responder_runtime = responder_jobs.ResponderRuntime(settings, db)
    responder_jobs.install_runtime(config_path, responder_runtime)
    alert_jobs.install_runtime(config_path, alert_jobs.AlertsRuntime(settings, db))
    scheduler = jobs_module.build_scheduler(settings, roles)
    scheduler.start(paused=True)
    jobs: list[str] = []
    if "listener" in roles:
        jobs += jobs_module.schedule_polls(scheduler, settings, config_path)
        jobs += jobs_module.schedule_retention(scheduler, settings, config_path)
    if "scorer" in roles:
        jobs.append(jobs_module.schedule_scoring(scheduler, settings, config_path))
        training = jobs_module.schedule_training(scheduler, settings, config_path)
        if training:
            jobs.append(training)
        jobs.append(jobs_module.schedule_reply_embeddings(scheduler, settings, config_path))
        priors = jobs_module.schedule_priors(scheduler, settings, config_path)
        if priors:
            jobs.append(priors)
    if "sender" in roles:
        jobs += jobs_module.schedule_responder(scheduler, settings, config_path)
    if "alerts" in roles:
        jobs += jobs_module.schedule_alerts(scheduler, settings, config_path)
    scheduler.resume()
    return scheduler, runtime, jobs


def run_scheduler_until_stopped(
    settings: Settings, config_path: str | None, say: Callable[[str], None], roles: tuple[str, ...] | None = None
) -> None:
    from listener.scheduler import ROLES

    db = Database.open(settings.database.url, echo=settings.database.echo)
    stop = stop_event_on_signals()
    scheduler, runtime, jobs = start_scheduler(settings, config_path, db, roles)
    names = "all roles" if tuple(roles or ROLES) == ROLES else "role " + ", ".join(roles or ())
    say(f"scheduler ({names}) running {len(jobs)} jobs: {', '.join(jobs) or 'none (no enabled sources)'}; Ctrl-C stops")
    try:
        stop.wait()
    finally:
        stop_scheduler(scheduler, runtime, config_path)
        db.dispose()


def stop_scheduler(scheduler, runtime, config_path: str | None) -> None:  # type: ignore[no-untyped-def]
    """Finish the jobs in flight (a scoring run over a backlog returns after its current batch),
    then close the platform clients of the pollers and the publishers."""
    from core import alert_jobs
    from responder import jobs as responder_jobs
    from sentiment.job import STOPPING

    STOPPING.set()
    scheduler.shutdown(wait=True)
    runtime.close()
    responder_jobs.runtime_for(config_path).close()
    alert_jobs.runtime_for(config_path).close()


def dashboard_command(settings: Settings) -> list[str]:
    app = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    # dashboard.serve imports pandas and altair before handing over to Streamlit's own command line,
    # so the first visitor does not wait for them.
    return [
        sys.executable, "-m", "dashboard.serve", "run", str(app),
        "--server.headless", "true",
        "--server.address", settings.dashboard.host,
        "--server.port", str(settings.dashboard.port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--theme.base", "light",
        "--client.toolbarMode", "viewer",
        # An unexpected error shows its type and a generic message in the browser; the message and the
        # traceback (which could quote configuration or data) go to the server's log only.
        "--client.showErrorDetails", "type",
    ]


def wait_for_http(url: str, timeout: float, stop: threading.Event | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def seed_demo_users(db: Database) -> None:
    from core.users import add_user, get_user, operator, parse_role, set_password

    demo = operator("demo")  # `earful demo` is run by the operator, who holds the database already
    with db.session() as session:
        for username, role, name, team in DEMO_USERS:
            if get_user(session, username) is None:
                add_user(session, demo, username, DEMO_PASSWORD, parse_role(role), display_name=name, team=team)
            else:
                set_password(session, demo, username, DEMO_PASSWORD)


def start_sandbox(settings: Settings):  # type: ignore[no-untyped-def]
    from listener.sandbox import Sandbox

    sandbox = Sandbox.from_config(settings.sandbox)
    try:
        sandbox.start()
    except OSError as exc:
        raise EarfulError(
            f"the sandbox cannot listen on {settings.sandbox.host}:{settings.sandbox.port} ({exc.strerror}); "
            "stop what uses that port or set sandbox.port (and the sources' base_url) to another"
        ) from None
    return sandbox


def run_sandbox_until_stopped(settings: Settings, say: Callable[[str], None]) -> None:
    stop = stop_event_on_signals()
    sandbox = start_sandbox(settings)
    try:
        say(f"sandbox platforms on {sandbox.base_url} (mastodon, x, reddit, ... under /<platform>); Ctrl-C stops")
        stop.wait()
    finally:
        sandbox.stop()


def run_demo(
    settings: Settings,
    config_path: str | None,
    dashboard_env: dict[str, str] | None,
    say: Callable[[str], None],
) -> None:
    stop = stop_event_on_signals()
    db = Database.open(settings.database.url, echo=settings.database.echo)
    seed_demo_users(db)
    with ExitStack() as stack:
        sandbox = start_sandbox(settings)
        stack.callback(sandbox.stop)
        say(f"sandbox platforms on {sandbox.base_url}")
        scheduler, runtime, jobs = start_scheduler(settings, config_path, db)
        stack.callback(stop_scheduler, scheduler, runtime, config_path)
        say(f"scheduler running {len(jobs)} jobs: {', '.join(jobs)}")
        if dashboard_env is not None:
            proc = subprocess.Popen(dashboard_command(settings), env=dashboard_env)
            stack.callback(_terminate, proc)
            url = f"http://{settings.dashboard.host}:{settings.dashboard.port}"
            if not wait_for_http(f"{url}/_stcore/health", 90, stop) and proc.poll() is not None:
                raise EarfulError(
                    f"the dashboard exited with status {proc.returncode}; is port {settings.dashboard.port} "
                    "in use? Set dashboard.port (or EARFUL_DASHBOARD__PORT) to a free one"
                )
            say(f"\nEarful demo is running: {url}")
            say(f"log in as agent / {DEMO_PASSWORD}  (also pr, manager, admin with the same password)")
        say("watch it fill up: earful stats --json    stop everything: Ctrl-C")
        stop.wait()
        say("stopping ...")


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
