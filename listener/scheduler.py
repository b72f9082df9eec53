"""APScheduler wiring: the only module that imports APScheduler.

One interval job per enabled source, so a slow or paused source never delays another, and one
scoring job that scores what the pollers stored. Jobs live in
a SQLAlchemy job store in Earful's database and survive restarts (their next run times included).
APScheduler 3 does not coordinate several schedulers on one store: run one `earful run` per database.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from core.config import Settings
from core.db import normalise_url
from core.models import utcnow

log = logging.getLogger(__name__)

JOBS_TABLE = "scheduler_jobs"
POLL_PREFIX = "poll:"


def build_scheduler(settings: Settings) -> BackgroundScheduler:
    workers = max(4, len(settings.sources) + 2)
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=normalise_url(settings.database.url), tablename=JOBS_TABLE)},
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
        "sentiment.job:train_job",
        "cron",
        hour=int(hour),
        minute=int(minute),
        id=TRAIN_JOB,
        name="retrain the scorer",
        args=[config_path],
        replace_existing=True,
    )
    return TRAIN_JOB


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
        scheduler.add_job(func, "interval", seconds=every[job_id], id=job_id, name=name, args=[config_path],
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
            "listener.jobs:poll_source_job",
            "interval",
            seconds=source.interval_seconds,
            id=job_id,
            name=f"poll {source.name} ({source.platform})",
            args=[config_path, source.name],
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
    detection) and, when enabled, the weekly report (a cron job in UTC)."""
    conf = settings.alerts
    wanted: list[str] = []
    if conf.enabled:
        every = {"alerts": conf.interval_seconds, "notify": conf.notify.interval_seconds}
        for job_id, (func, name) in ALERT_JOBS.items():
            scheduler.add_job(func, "interval", seconds=every[job_id], id=job_id, name=name, args=[config_path],
                              replace_existing=True, next_run_time=now or utcnow())
            wanted.append(job_id)
    if conf.weekly_report.enabled:
        hour, minute = conf.weekly_report.time.split(":")
        scheduler.add_job("core.alert_jobs:weekly_report_job", "cron", day_of_week=conf.weekly_report.day,
                          hour=int(hour), minute=int(minute), id=WEEKLY_REPORT_JOB, name="email the weekly report",
                          args=[config_path], replace_existing=True)
        wanted.append(WEEKLY_REPORT_JOB)
    for job_id in (*ALERT_JOBS, WEEKLY_REPORT_JOB):
        if job_id not in wanted and scheduler.get_job(job_id):
            scheduler.remove_job(job_id)
    return wanted
