"""Run a real source the way the scheduler does (listener.poller.poll) against a test database."""

from __future__ import annotations

import random
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import sqlalchemy as sa

from core.config import load_config
from core.db import Database
from core.models import Mention, Source as SourceRow
from listener.base import Source
from listener.enrich import BrandMatcher
from listener.poller import PollOutcome, poll

REPO_CONFIG = load_config(__import__("pathlib").Path(__file__).resolve().parents[2] / "config.yaml", env={})
DEMO_MATCHER = BrandMatcher.from_brands(REPO_CONFIG.brands)


@dataclass
class Poller:
    db: Database
    source: Source
    clock: Callable[..., object]
    source_id: int = 0

    def __post_init__(self) -> None:
        with self.db.session() as s:
            row = SourceRow(name=self.source.name, platform=self.source.platform)
            s.add(row)
            s.flush()
            self.source_id = row.id

    def poll(self, **kwargs: object) -> PollOutcome:
        return poll(self.db, self.source, self.source_id, DEMO_MATCHER, clock=self.clock, rand=random.Random(5), **kwargs)  # type: ignore[arg-type]

    def row(self) -> SourceRow:
        with self.db.session() as s:
            return s.get(SourceRow, self.source_id)

    def stored(self) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(sa.select(Mention.native_id).where(Mention.source_id == self.source_id)))

    def unpause(self) -> None:
        with self.db.session() as s:
            s.get(SourceRow, self.source_id).paused_until = None

    @contextmanager
    def using(self, source: Source) -> Iterator[Source]:
        """Poll through `source` inside the block (one with a short timeout, say), then through the
        usual one again; `source` is closed on the way out."""
        steady, self.source = self.source, source
        try:
            yield source
        finally:
            self.source = steady
            source.close()
