"""Helpers of the tests that drive dashboard pages with Streamlit's AppTest on a real database: the
config the pages load, and a page rendered for a signed-in user."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.config import Settings, load_config
from core.db import Database
from dashboard.ui import SESSION_KEY, SignedIn
from tests.fakes import responder as fx


@contextmanager
def app_database(folder: Path, config: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, Database]]:
    """`config` (a template of the database file, `{db}`) written to folder/config.yaml and made the
    only EARFUL_ variable, as EARFUL_CONFIG, so pages load it; yields its settings and its database.

    Streamlit's resource cache is cleared on both sides, so pages open this database and no other."""
    path = folder / "config.yaml"
    path.write_text(config.format(db=folder / "t.db"))
    for name in [n for n in os.environ if n.startswith("EARFUL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("EARFUL_CONFIG", str(path))
    conf = load_config(path)
    db = Database.open(conf.database.url)
    st.cache_resource.clear()
    try:
        yield conf, db
    finally:
        st.cache_resource.clear()
        db.dispose()


def page(db: Database, script: str, username: str, case_id: int | None = None) -> AppTest:
    """`dashboard.views.<script>` rendered once for `username`, signed in, with `case_id` open if given."""
    at = AppTest.from_string(f"from dashboard.views import {script}\n{script}.render()\n", default_timeout=30)
    with db.session() as s:
        user = fx.user(s, username)
        at.session_state[SESSION_KEY] = SignedIn(user.id, user.username, user.display_name, user.role)
    if case_id is not None:
        at.session_state["open_case"] = case_id
    return at.run()
