"""Trained models live in the data directory (`paths.data_dir`, core.paths), never in the installed
package: `earful train` writes there with the packaged folder read-only, compares with whatever is
in effect, and the scorer and the scoring job then use the data directory's model; without one the
packaged model is what loads. Real training on tiny corpora with a hashing encoder."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import sentiment.heads
import sentiment.scorer
from core.cli import app
from core.config import SentimentConfig, load_config
from core.db import Database
from core.errors import ConfigError
from core.paths import DataPaths
from sentiment import job
from sentiment.heads import CURRENT, current_version, heads_in_effect, load_heads
from sentiment.job import train_command
from sentiment.scorer import Scorer
from tests.fakes.corpora import RATED
from tests.fakes.encoder import HashingEncoder

T = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
CONF = SentimentConfig()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def packaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A read-only stand-in for sentiment/heads/ holding heads of the hashing encoder."""
    folder = tmp_path / "package" / "heads"
    train_command(CONF, None, now=T, cache_dir=tmp_path / "cache", heads_dir=folder, encoder=HashingEncoder(),
                  corpora=RATED, rescore_days=0)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)  # 0o555
    monkeypatch.setattr(sentiment.heads, "HEADS_DIR", folder)
    yield folder
    folder.chmod(0o755)


def test_train_writes_into_the_data_dir_and_the_scorer_then_loads_it(
        tmp_path: Path, packaged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, shipped = snapshot(packaged), current_version(packaged)
    paths = DataPaths(tmp_path / "data")
    assert heads_in_effect(paths.models) == packaged  # nothing trained yet: the packaged default
    later = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
    # force: kept even if not better, so what is tested is where it goes, not the gate's verdict.
    result = train_command(CONF, None, now=later, encoder=HashingEncoder(), corpora=RATED, rescore_days=0,
                           paths=paths, force=True)
    assert result["accepted"] and result["version"] != shipped
    assert result["current_heldout"] is not None  # the gate measured the packaged heads it would replace
    assert snapshot(packaged) == before  # the package folder is as it was
    assert current_version(paths.models) == result["version"] and (paths.models / f"{result['version']}.npz").exists()
    assert (paths.cache / "embeddings").is_dir()  # the caches went to the data dir too
    assert heads_in_effect(paths.models) == paths.models
    monkeypatch.setattr(sentiment.scorer, "encoder_from_settings", lambda conf, cache_dir=None: HashingEncoder())
    assert Scorer.from_settings(CONF, paths=paths).version == result["version"]
    # The next training compares with the data dir's model, the one in effect now.
    again = train_command(CONF, None, now=datetime(2026, 12, 6, tzinfo=timezone.utc), encoder=HashingEncoder(),
                          corpora=RATED, rescore_days=0, paths=paths, force=True)
    assert again["current_heldout"] == result["heldout"]
    assert snapshot(packaged) == before


def test_with_no_data_dir_model_the_packaged_one_loads(
        tmp_path: Path, packaged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentiment.scorer, "encoder_from_settings", lambda conf, cache_dir=None: HashingEncoder())
    paths = DataPaths(tmp_path / "data")
    assert Scorer.from_settings(CONF, paths=paths).version == current_version(packaged)
    assert not paths.root.exists()  # loading creates nothing


def test_the_real_packaged_model_is_the_default_for_an_empty_data_dir(tmp_path: Path) -> None:
    assert heads_in_effect(DataPaths(tmp_path / "data").models) == sentiment.heads.HEADS_DIR
    assert load_heads(folder=heads_in_effect(tmp_path / "data" / "models")).version == current_version()


def test_a_data_dir_that_is_a_file_stops_training_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(ConfigError, match=r"paths\.data_dir"):
        train_command(CONF, None, now=T, encoder=HashingEncoder(), corpora=RATED, rescore_days=0,
                      paths=DataPaths(tmp_path / "a-file"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_an_unwritable_data_dir_stops_training_naming_the_key(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        with pytest.raises(ConfigError, match=r"paths\.data_dir"):
            train_command(CONF, None, now=T, encoder=HashingEncoder(), corpora=RATED, rescore_days=0,
                          paths=DataPaths(locked / "data"))
    finally:
        locked.chmod(0o755)


def test_earful_train_with_a_bad_data_dir_exits_2_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"database": {"url": f"sqlite:///{tmp_path / 'e.db'}"},
                                  "paths": {"data_dir": "a-file"}}))
    result = CliRunner().invoke(app, ["--config", str(config), "train"])
    assert result.exit_code == 2, result.output
    assert "paths.data_dir" in result.output and "a-file is a file" in result.output.replace("\n", "")


def test_the_scoring_job_reloads_when_the_data_dir_gets_a_current(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {{url: 'sqlite:///{tmp_path / 'e.db'}'}}\n")
    settings = load_config(config, env={})
    db = Database.open(settings.database.url)
    shipped = load_heads()

    class ZeroEncoder:
        runtime, dim = "test", 384

        def encode(self, texts, *, batch_size=None):  # type: ignore[no-untyped-def]
            return np.zeros((len(texts), self.dim), dtype=np.float32)

    paths = DataPaths.of(settings)
    scorers = {str(config): (db, Scorer.with_heads(ZeroEncoder(), shipped, settings.sentiment), settings.sentiment, paths)}
    models = paths.models
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(job, "_scorers", scorers)
            assert job.loaded_scorer(str(config))[1].version == shipped.version  # packaged CURRENT: no reload
            replace(shipped, version="trained-here").save(models)  # what `earful train` leaves in the data dir
            assert (models / CURRENT).read_text().strip() == "trained-here"
            assert job.loaded_scorer(str(config))[1].version == "trained-here"
    finally:
        db.dispose()
