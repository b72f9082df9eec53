"""Keeps the brands and sources declared in config.yaml mirrored in the database.

Config is the source of truth for what it declares: on start, brands and their queries are upserted
by name and sources by name (their non-secret settings only). A source removed from the file is
disabled, not deleted, so its collected mentions and history stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.config import SECRET_KEYS, Settings
from core.models import Brand, BrandQueryRow, Source


def sync_from_config(session: Session, settings: Settings) -> dict[str, int]:
    """Upsert brands and sources; return source ids by name."""
    brands = {b.name: b for b in session.scalars(sa.select(Brand))}
    for conf in settings.brands:
        brand = brands.get(conf.name)
        if brand is None:
            brand = Brand(name=conf.name)
            session.add(brand)
        brand.is_competitor = conf.competitor
        brand.queries = [
            BrandQueryRow(
                expression=q.expression,
                keywords=list(q.keywords),
                handles=list(q.handles),
                exclude=list(q.exclude),
                languages=list(q.languages),
            )
            for q in conf.queries
        ]
    sources = {s.name: s for s in session.scalars(sa.select(Source))}
    declared = set()
    for conf in settings.sources:
        declared.add(conf.name)
        row = sources.get(conf.name)
        if row is None:
            row = Source(name=conf.name, platform=conf.platform)
            session.add(row)
        row.platform = conf.platform
        row.enabled = conf.enabled
        row.settings = conf.model_dump(mode="json", exclude=SECRET_KEYS | {"name", "platform", "enabled"})
    for name, row in sources.items():
        if name not in declared:
            row.enabled = False
    session.flush()
    return {s.name: s.id for s in session.scalars(sa.select(Source))}


def source_health(session: Session, settings: Settings) -> list[dict[str, object]]:
    """One row per source for `earful sources` and the settings page (declared sources first)."""
    declared = {s.name: i for i, s in enumerate(settings.sources)}
    rows = sorted(session.scalars(sa.select(Source)), key=lambda s: (declared.get(s.name, len(declared)), s.name))
    return [
        {
            "name": s.name,
            "platform": s.platform,
            "enabled": s.enabled,
            "health": s.health.value if s.enabled else "disabled",
            "last_success_at": s.last_success_at,
            "last_error_at": s.last_error_at,
            "last_error": s.last_error,
            "paused_until": s.paused_until,
            "items_collected": s.items_collected,
            "api_spend_usd": float(s.api_spend_usd or 0),
            "spend_today_usd": float(s.spend_today_usd or 0),
        }
        for s in rows
    ]
