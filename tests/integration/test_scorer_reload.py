"""A scorer process picks up a model made current elsewhere (nightly training in another scorer
process on the machine, or `earful train` by hand) at its next scoring run, keeping its encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.config import load_config
from core.db import Database
from core.paths import DataPaths
from sentiment import heads as heads_module
from sentiment import job
from sentiment.heads import load_heads
from sentiment.scorer import Scorer


class ZeroEncoder:
    """Stands in for the (slow to load) encoder: the reload must keep whatever encoder it has."""

    runtime = "test"
    dim = 384

    def encode(self, texts, *, batch_size=None):  # type: ignore[no-untyped-def]
        return np.zeros((len(texts), self.dim), dtype=np.float32)


def test_the_scoring_job_reloads_heads_when_current_names_another_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {{url: 'sqlite:///{tmp_path / 'e.db'}'}}\n")
    settings = load_config(config, env={})
    db = Database.open(settings.database.url)
    real = load_heads()
    stale = load_heads()
    stale.version = "an-older-model"
    encoder = ZeroEncoder()
    monkeypatch.setitem(job._scorers, str(config), (db, Scorer.with_heads(encoder, stale, settings.sentiment), settings.sentiment,
                                                     DataPaths.of(settings)))
    try:
        job.score_pending_job(str(config))
        _, scorer, _, _ = job._scorers[str(config)]
        assert scorer.version == real.version == heads_module.current_version()
        assert scorer.encoder is encoder
        job.score_pending_job(str(config))  # the same version: nothing is rebuilt
        assert job._scorers[str(config)][1] is scorer
    finally:
        db.dispose()
