"""The composer's suggestions driven by AppTest on a real database: why there are none yet, the list
(plain text, similarity, the original mention), "Use" filling the reply box, and a model that is
still loading or failed to load, which never holds up the page.

A keyword encoder stands in for the sentence model here (the real one is in the browser test,
tests/integration/test_browser_suggest.py)."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.config import load_config
from core.db import Database
from core.errors import ConfigError
from core.models import Role
from dashboard import suggestions
from dashboard.suggestions import LOAD_FAILED, EncoderLoader
from responder import cases, outbox
from responder.jobs import ResponderRuntime
from responder.sla import BusinessCalendar
from tests.fakes import apptest as fa
from tests.fakes import responder as fx

NOW = datetime.now(timezone.utc)
CONFIG = fx.MASTODON_SITE
PAST = "<img src=x onerror=alert(1)> **skylark** lost my bag in Frankfurt"
SENT = "@jo@example.social So sorry about your bag: DM us the file reference and we'll trace it. ^AB"
REUSABLE = "So sorry about your bag: DM us the file reference and we'll trace it."


class KeywordEncoder:
    """Bag texts one way, everything else another: enough to rank without loading a model."""

    dim = 2

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        return np.array([[1.0, 0.0] if "bag" in t.lower() else [0.0, 1.0] for t in texts], dtype=np.float32)


@pytest.fixture
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, dict[str, int]]]:
    st.cache_data.clear()
    with fa.app_database(tmp_path, CONFIG, monkeypatch) as (conf, db):
        with db.session() as s:
            ids = fx.sync(s, conf)
            fx.user(s, "ann", Role.agent)
            fx.user(s, "val", Role.viewer)
            past = fx.mention(s, ids, text=PAST, author="@jo@example.social", at=NOW)
            bag = fx.mention(s, ids, text="skylark my bag never showed up", author="@kim@example.social", at=NOW)
            other = fx.mention(s, ids, text="skylark great crew today", author="@lee@example.social", at=NOW)
            cases.triage(s, conf.responder, now=NOW, calendar=BusinessCalendar.from_config(conf.responder.sla))
            for m in (past, bag, other):
                s.refresh(m)
            case_ids = {"past": past.case_id, "bag": bag.case_id, "other": other.case_id}
        yield db, case_ids
    st.cache_data.clear()


def send_past_reply(db: Database, case_id: int) -> None:
    conf = load_config()
    with db.session() as s:
        fx.approve(s, conf, fx.user(s, "ann"), case_id, SENT)
    outbox.send_due(db, outbox.Publishers(conf, build=lambda config, timeout: fx.ScriptedPublisher()))


def index(db: Database, encoder: KeywordEncoder) -> None:
    """What the scorer role's embed_replies job does, with the stand-in encoder."""
    assert ResponderRuntime(load_config(), db).embed_replies(encoder.encode) == 1


def loaded(monkeypatch: pytest.MonkeyPatch, loader: EncoderLoader) -> EncoderLoader:
    monkeypatch.setattr(suggestions, "_loader", lambda model_key, conf: loader)
    return loader


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def test_no_suggestion_until_a_sent_reply_is_indexed_and_no_model_is_loaded_meanwhile(
    app_db, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    db, ids = app_db
    loader = loaded(monkeypatch, EncoderLoader(lambda: pytest.fail("no model is needed before anything is indexed")))
    at = fa.page(db, "case_page", "ann", ids["bag"])
    assert not at.exception, [e.value for e in at.exception]
    assert "No suggestions yet: the team has sent no reply yet; sent replies become suggestions." in texts(at)
    send_past_reply(db, ids["past"])
    at.run()
    assert ("No suggestions yet: none of the 1 sent replies is indexed yet; the scorer role (earful run) "
            "indexes them every 60 s.") in texts(at)
    assert loader._thread is None


def test_suggestions_show_as_plain_text_and_one_fills_the_reply_box(
    app_db, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    db, ids = app_db
    send_past_reply(db, ids["past"])
    encoder = KeywordEncoder()
    index(db, encoder)
    loader = loaded(monkeypatch, EncoderLoader(lambda: encoder))
    assert loader.wait(5)
    at = fa.page(db, "case_page", "ann", ids["bag"])
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "Suggestion 1 · similarity 1.00" in shown
    assert f"They wrote: {PAST}" in shown  # the original mention, untouched: no Markdown, no HTML
    assert f"We replied: {REUSABLE}" in shown  # another customer's handle and agent's initials removed
    assert not any("Suggestion 2" in t for t in shown)
    assert not any("<img" in str(m.value) or "skylark" in str(m.value) for m in at.markdown)
    at.button(key=f"use_suggestion_{ids['bag']}_1").click().run()
    [box] = [t for t in at.text_area if t.label == "Public reply"]
    assert box.value == REUSABLE

    unrelated = fa.page(db, "case_page", "ann", ids["other"])
    assert any(t.startswith("No suggestions: no past reply answered a mention close enough to this one "
                            "(similarity 0.45 or more; 1 of 1 sent replies indexed)") for t in texts(unrelated))
    viewer = fa.page(db, "case_page", "val", ids["bag"])  # viewers have no composer, so no suggestions
    assert not any(t.startswith("Suggestion 1") for t in texts(viewer))


def test_a_model_still_loading_or_failed_leaves_the_page_usable(
    app_db, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    db, ids = app_db
    send_past_reply(db, ids["past"])
    encoder = KeywordEncoder()
    index(db, encoder)
    release = threading.Event()

    def slow_load() -> KeywordEncoder:
        assert release.wait(10)
        return encoder

    loader = loaded(monkeypatch, EncoderLoader(slow_load))
    at = fa.page(db, "case_page", "ann", ids["bag"])
    assert not at.exception, [e.value for e in at.exception]
    assert "Suggestions: loading the sentence model (the first time since the dashboard started) ..." in texts(at)
    assert [t.label for t in at.text_area if t.label == "Public reply"]  # the reply box is there meanwhile
    release.set()
    assert loader.wait(5)
    at.run()
    assert "Suggestion 1 · similarity 1.00" in texts(at)

    def broken(exc: Exception) -> EncoderLoader:
        def load() -> KeywordEncoder:
            raise exc
        return EncoderLoader(load)

    loader = loaded(monkeypatch, broken(ConfigError("cannot load model 'nope': not found", key="sentiment.model")))
    assert loader.wait(5)
    at = fa.page(db, "case_page", "ann", ids["bag"])
    assert "No suggestions: sentiment.model: cannot load model 'nope': not found" in texts(at)
    loader = loaded(monkeypatch, broken(RuntimeError("/secret/path/model.onnx is corrupt")))
    assert loader.wait(5)
    at = fa.page(db, "case_page", "ann", ids["bag"])
    assert f"No suggestions: {LOAD_FAILED}" in texts(at)
    assert not any("/secret/path" in t for t in texts(at))  # the detail goes to the log only
