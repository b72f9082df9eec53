"""APScheduler wiring: the only module that imports APScheduler.

One interval job per enabled source, so a slow or paused source never delays another, and one
scoring job that scores what the pollers stored; then the responder's and the alerts' jobs. Each
`earful run` node schedules the jobs of its roles (`ROLE_JOBS`).

APScheduler 3 does not coordinate several schedulers, so Earful does: a job that must run on one
node at a time is scheduled through `core.runtimes.run_exclusive`, which runs it only while the node
holds that job's lock on the database (a PostgreSQL advisory lock; a record lock beside an SQLite
file). Scoring and sending run on every node of their role at once: they claim their work row by
row (`SELECT ... FOR UPDATE SKIP LOCKED` for scoring on PostgreSQL, a conditional UPDATE for each
reply). The single-machine default (SQLite, every role in one process) keeps its jobs in a
SQLAlchemy job store in the database, which survives restarts; a node of a multi-node deployment
keeps them in memory, since every node declares its jobs afresh on start.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from core.config import Settings
from sqlalchemy.engine import make_url

from core.db import normalise_url
from core.models import utcnow

log = logging.getLogger(__name__)

JOBS_TABLE = "scheduler_jobs"
POLL_PREFIX = "poll:"


ROLES = ("listener", "scorer", "sender", "alerts")
# What each role of `earful run --role` schedules (the job ids; "poll:" stands for every source's poll).
ROLE_JOBS = {
    "listener": ("poll:", "retention"),
    "scorer": ("score", "train", "embed_replies", "priors"),
    "sender": ("triage", "send", "sla"),
    "alerts": ("alerts", "notify", "weekly_report"),
}
EXCLUSIVE = "core.runtimes:run_exclusive"


def parse_roles(value: str) -> tuple[str, ...]:
    """`all`, one role, or several joined by commas, in ROLES order; ValueError names a bad one."""
    names = {part.strip().lower() for part in value.split(",") if part.strip()}
    if not names or "all" in names:
        return ROLES
    unknown = sorted(names - set(ROLES))
    if unknown:
        raise ValueError(f"unknown role {', '.join(unknown)}; use all, or one or more of {', '.join(ROLES)} joined by commas")
    return tuple(r for r in ROLES if r in names)


def build_scheduler(settings: Settings, roles: tuple[str, ...] = ROLES) -> BackgroundScheduler:
    workers = max(4, len(settings.sources) + 2)
    single_node = tuple(roles) == ROLES and make_url(normalise_url(settings.database.url)).get_backend_name() == "sqlite"
    store = (SQLAlchemyJobStore(url=normalise_url(settings.database.url), tablename=JOBS_TABLE)
             if single_node else MemoryJobStore())
    return BackgroundScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(workers)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.scheduler.misfire_grace_seconds,
        },
        timezone="UTC",
    )


SCORE_JOB = "score"


def schedule_scoring(
    scheduler: BackgroundScheduler, settings: Settings, config_path: str | None, *, now: datetime | None = None
) -> str:
    """The scorer: one job that scores whatever the pollers stored since its last run."""
    # Not exclusive: every scorer node scores at once, each claiming its own batches.
    scheduler.add_job(
        "sentiment.job:score_pending_job",
        "interval",
        seconds=settings.sentiment.interval_seconds,
        id=SCORE_JOB,
        name="score new mentions",
        args=[config_path],
        replace_existing=True,
        next_run_time=now or utcnow(),
    )
    return SCORE_JOB


TRAIN_JOB = "train"


def schedule_training(scheduler: BackgroundScheduler, settings: Settings, config_path: str | None) -> str | None:
    """Nightly retraining at sentiment.train_at (UTC), or none when it is not set."""
    if not settings.sentiment.train_at:
        if scheduler.get_job(TRAIN_JOB):
            scheduler.remove_job(TRAIN_JOB)
        return None
    hour, minute = settings.sentiment.train_at.split(":")
    scheduler.add_job(
        EXCLUSIVE,
        "cron",
        hour=int(hour),
        minute=int(minute),
        id=TRAIN_JOB,
        name="retrain the scorer",
        args=[TRAIN_JOB, "sentiment.job:train_job", config_path],
        replace_existing=True,
    )
    return TRAIN_JOB


EMBED_REPLIES_JOB = "embed_replies"


def schedule_reply_embeddings(
    scheduler: BackgroundScheduler, settings: Settings, config_path: str | None, *, now: datetime | None = None
) -> str:
    """The scorer role embeds the mentions sent replies answered (reply suggestions), with the
    encoder its scoring job holds; one node at a time, since every node would embed the same rows."""
    scheduler.add_job(EXCLUSIVE, "interval", seconds=settings.responder.suggestions.interval_seconds,
                      id=EMBED_REPLIES_JOB, name="embed sent replies for suggestions",
                      args=[EMBED_REPLIES_JOB, "responder.jobs:embed_replies_job", config_path],
                      replace_existing=True, next_run_time=now or utcnow())
    return EMBED_REPLIES_JOB


PRIORS_JOB = "priors"


def schedule_priors(
    scheduler: BackgroundScheduler, settings: Settings, config_path: str | None, *, now: datetime | None = None
) -> str | None:
    """Refresh each own brand's class mix every sentiment.adaptation.interval_seconds (the scoring job
    adapts the brand's mentions to it); one node at a time, since each would estimate the same mixes.
    None, and no job, when adaptation is off."""
    conf = settings.sentiment.adaptation
    if not conf.enabled:
        if scheduler.get_job(PRIORS_JOB):
            scheduler.remove_job(PRIORS_JOB)
        return None
    scheduler.add_job(EXCLUSIVE, "interval", seconds=conf.interval_seconds, id=PRIORS_JOB,
                      name="estimate each brand's class mix", args=[PRIORS_JOB, "sentiment.adaptation:refresh_priors_job",
                                                                     config_path],
                      replace_existing=True, next_run_time=now or utcnow())
    return PRIORS_JOB


RESPONDER_JOBS = {
    "triage": ("responder.jobs:triage_job", "open and join cases"),
    "send": ("responder.jobs:send_job", "send approved replies"),
    "sla": ("responder.jobs:sla_job", "flag SLA breaches"),
}


def schedule_responder(
    scheduler: BackgroundScheduler, settings: Settings, config_path: str | None, *, now: datetime | None = None
) -> list[str]:
    """Triage after scoring, the outbox sender, and the SLA breach check."""
    every = {
        "triage": settings.responder.cases.interval_seconds,
        "send": settings.responder.sender.interval_seconds,
        "sla": 60,
    }
    for job_id, (func, name) in RESPONDER_JOBS.items():
        # Sending claims each reply atomically, so every sender node sends; the others are exclusive.
        func, args = (func, [config_path]) if job_id == "send" else (EXCLUSIVE, [job_id, func, config_path])
        scheduler.add_job(func, "interval", seconds=every[job_id], id=job_id, name=name, args=args,
                          replace_existing=True, next_run_time=now or utcnow())
    return list(RESPONDER_JOBS)


def schedule_polls(
    scheduler: BackgroundScheduler, settings: Settings, config_path: str | None, *, now: datetime | None = None
) -> list[str]:
    """(Re)declare one poll job per enabled source; drop jobs of sources no longer configured."""
    wanted = {f"{POLL_PREFIX}{s.name}": s for s in settings.sources if s.enabled}
    for job in scheduler.get_jobs():
        if job.id.startswith(POLL_PREFIX) and job.id not in wanted:
            job.remove()
    for job_id, source in wanted.items():
        scheduler.add_job(
            EXCLUSIVE,
            "interval",
            seconds=source.interval_seconds,
            id=job_id,
            name=f"poll {source.name} ({source.platform})",
            args=[job_id, "listener.jobs:poll_source_job", config_path, source.name],
            replace_existing=True,
            next_run_time=now or utcnow(),
        )
    return sorted(wanted)


ALERT_JOBS = {
    "alerts": ("core.alert_jobs:detect_job", "detect mention spikes"),
    "notify": ("core.alert_jobs:notify_job", "deliver alert notifications"),
}
WEEKLY_REPORT_JOB = "weekly_report"


def schedule_alerts(
    scheduler: BackgroundScheduler, settings: Settings, config_path: str | None, *, now: datetime | None = None
) -> list[str]:
    """Spike detection, notification delivery (separate, so a failing channel never delays
    detection) and, when enabled, the weekly report (a cron job in UTC). Delivery also runs with
    spike detection off while operational alerts are on: they are written by the other roles."""
    conf = settings.alerts
    wanted: list[str] = []
    runs = {"alerts": conf.enabled, "notify": conf.enabled or conf.operational.enabled}
    every = {"alerts": conf.interval_seconds, "notify": conf.notify.interval_seconds}
    for job_id, (func, name) in ALERT_JOBS.items():
        if runs[job_id]:
            scheduler.add_job(EXCLUSIVE, "interval", seconds=every[job_id], id=job_id, name=name,
                              args=[job_id, func, config_path], replace_existing=True, next_run_time=now or utcnow())
            wanted.append(job_id)
    if conf.weekly_report.enabled:
        hour, minute = conf.weekly_report.time.split(":")
        scheduler.add_job(EXCLUSIVE, "cron", day_of_week=conf.weekly_report.day,
                          hour=int(hour), minute=int(minute), id=WEEKLY_REPORT_JOB, name="email the weekly report",
                          args=[WEEKLY_REPORT_JOB, "core.alert_jobs:weekly_report_job", config_path], replace_existing=True)
        wanted.append(WEEKLY_REPORT_JOB)
    for job_id in (*ALERT_JOBS, WEEKLY_REPORT_JOB):
        if job_id not in wanted and scheduler.get_job(job_id):
            scheduler.remove_job(job_id)
    return wanted


RETENTION_JOB = "retention"


def schedule_retention(
    scheduler: BackgroundScheduler, settings: Settings, config_path: str | None, *, now: datetime | None = None
) -> list[str]:
    """Delete mentions past retention.days every retention.interval_seconds; no job when days is null."""
    if settings.retention.days is None:
        if scheduler.get_job(RETENTION_JOB):
            scheduler.remove_job(RETENTION_JOB)
        return []
    scheduler.add_job(EXCLUSIVE, "interval", seconds=settings.retention.interval_seconds,
                      id=RETENTION_JOB, name="delete mentions past retention",
                      args=[RETENTION_JOB, "core.privacy:retention_job", config_path],
                      replace_existing=True, next_run_time=now or utcnow())
    return [RETENTION_JOB]
