"""The composer's reply suggestions: what the team sent, publicly, to mentions like this one.

Matching needs the embedding of the mention being answered, so the dashboard holds the sentence
encoder (`sentiment` config: the scorer's model and runtime, hence vectors comparable with the ones
the scorer role stored). Loading it takes seconds and a few hundred MB, so it is loaded once per
dashboard process, in a background thread, and only once a composer has indexed replies to match:
no page waits for it; the section says it is loading and redraws itself when the model is ready.

The past replies' embeddings are stored by the scorer role's `embed_replies` job
(`responder.jobs.embed_replies_job`); the page only reads (`backfill_limit=0`), so showing a case
never writes and never encodes more than the one mention. All text is shown with `ui.plain`: the
original mention is untrusted, and so is a past reply (an agent typed it).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

import streamlit as st

from core.errors import EarfulError
from dashboard import ui
from responder import cases
from responder.suggest import DEFAULT_MIN_SIMILARITY, Suggestion, indexed_counts, suggest

log = logging.getLogger(__name__)
SHOWN = 3  # suggestions listed in the composer
LOAD_FAILED = "the sentence model could not be loaded; the dashboard's log has the reason"


class EncoderLoader:
    """An encoder loaded once, in a background thread started by the first `ready()`."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.encoder: Any = None
        self.error: str | None = None

    def ready(self) -> bool:
        """Whether loading has ended (with `encoder` or with `error`); starts it on the first call."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="earful-suggestion-encoder", daemon=True)
                self._thread.start()
        return self.encoder is not None or self.error is not None

    def wait(self, timeout: float) -> bool:
        """`ready()`, waiting up to `timeout` seconds for the load to end (tests)."""
        self.ready()
        assert self._thread is not None
        self._thread.join(timeout)
        return self.ready()

    def _run(self) -> None:
        from sentiment.encoder import SerialEncoder

        try:
            # Streamlit serves each browser session on its own thread: one encode at a time.
            self.encoder = SerialEncoder(self._load())
        except EarfulError as exc:  # written to be shown: names the setting to fix
            self.error = str(exc)
        except Exception:
            log.exception("loading the sentence model for reply suggestions failed")
            self.error = LOAD_FAILED


def _model_key(conf: Any) -> tuple[str, str, str, int]:
    return (conf.model, conf.runtime, conf.quantize, conf.max_length)


@st.cache_resource(show_spinner=False)
def _loader(model_key: tuple[str, str, str, int], _conf: Any) -> EncoderLoader:
    from sentiment.encoder import encoder_from_settings

    return EncoderLoader(lambda: encoder_from_settings(_conf))


@st.cache_data(ttl=300, max_entries=500, show_spinner=False)
def _ranked(app_key: int, mention_id: int, embedded: int, model_key: tuple[str, str, str, int],
            _app: ui.App, _encoder: Any) -> list[Suggestion]:
    # Cached, since every click reruns the page and the pool is thousands of vectors; `embedded` is
    # part of the key, so a reply indexed since the last look is considered at once.
    with _app.db.session() as session:
        return suggest(session, mention_id, _encoder.encode, k=SHOWN, backfill_limit=0)


def section(app: ui.App, case_id: int, box: str) -> None:
    """The Suggestions list above the reply box `box` (a session-state key); "Use" fills the box."""
    st.markdown("**Suggestions from past replies**")
    with app.db.session() as session:
        newest = cases.newest_mention(session, case_id)
        mention_id = newest.id if newest is not None else None
        sent, embedded = indexed_counts(session)
    if mention_id is None:
        ui.plain("No suggestions: the case has no mention to answer.")
        return
    if embedded == 0:
        ui.plain("No suggestions yet: " + (
            "the team has sent no reply yet; sent replies become suggestions." if sent == 0 else
            f"none of the {sent} sent replies is indexed yet; the scorer role (earful run) indexes them "
            f"every {app.settings.responder.suggestions.interval_seconds} s."))
        return
    conf = app.settings.sentiment
    loader = _loader(_model_key(conf), conf)
    if not loader.ready():
        st.fragment(run_every=2)(_waiting)(loader)
        return
    if loader.error:
        ui.plain(f"No suggestions: {loader.error}")
        return
    try:
        found = _ranked(id(app), mention_id, embedded, _model_key(conf), app, loader.encoder)
    except EarfulError as exc:  # e.g. the mention was erased meanwhile; the reply box stays usable
        ui.plain(f"No suggestions: {exc}")
        return
    if not found:
        ui.plain(f"No suggestions: no past reply answered a mention close enough to this one "
                 f"(similarity {DEFAULT_MIN_SIMILARITY:.2f} or more; {embedded} of {sent} sent replies indexed).")
        return
    for number, suggestion in enumerate(found, start=1):
        with st.container(border=True):
            uses = f" · sent {suggestion.uses} times" if suggestion.uses > 1 else ""
            ui.plain(f"Suggestion {number} · similarity {suggestion.similarity:.2f}{uses}")
            ui.plain(f"They wrote: {suggestion.example_mention_text}")
            ui.plain(f"We replied: {suggestion.text}")
            st.button(f"Use suggestion {number}", key=f"use_suggestion_{case_id}_{number}",
                      on_click=_use, args=(box, suggestion.text))


def _use(box: str, text: str) -> None:
    # A callback runs before the page script, so it may set the text area's value.
    st.session_state[box] = text


def _waiting(loader: EncoderLoader) -> None:
    if loader.ready():
        st.rerun()  # the whole page, so the section is drawn with the suggestions
    ui.plain("Suggestions: loading the sentence model (the first time since the dashboard started) ...")
