"""What `earful score`, `earful eval` and `earful train` (and the scheduler) call.

Plain functions over an injected `Database` and scorer. Scoring reads a batch in one short session,
scores it outside any transaction (the encoder is the slow part; no lock is held meanwhile), and
writes the batch's scores in one transaction through `core.store.record_scores`. Writing is
idempotent per (mention, model version), so two workers racing on a batch do no harm.
"""

from __future__ import annotations

import csv
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import sqlalchemy as sa

from core.db import Database
from core.errors import InvalidInput
from core.paths import DataPaths
from core.models import Author, Correction, Mention, utcnow
from core.store import record_scores
from sentiment.adaptation import priors_of_mentions
from sentiment import features
from sentiment.examples import Examples, LabelledText
from sentiment.metrics import classification_report
from sentiment.postprocess import LABELS, engagement_velocity
from sentiment.scorer import ScoreInput, ScorerLike

log = logging.getLogger(__name__)
# Mentions taken per transaction, in encoder batches: the encoder sorts a chunk by token count before
# batching it, so a chunk of several batches pads far less than one batch of mentions in id order
# (on two cores about 1.9x the throughput of one batch per transaction).
CHUNK_BATCHES = 8
# Texts per scorer call in `evaluate_csv`: large enough for the encoder's length sorting, small
# enough for a progress bar to move every few seconds on a CPU.
EVAL_CHUNK = 256
# A progress report for a long command: (the step, how many done, out of how many or None when not
# known). Library code calls it; the CLI draws the bar (core.cli), so nothing here imports rich.
OnProgress = Callable[[str, int, int | None], None]


def chunk_size(conf: Any) -> int:
    """Mentions per scoring transaction for a `sentiment` config section."""
    return conf.batch_size * CHUNK_BATCHES


def _inputs(session: Any, where: Any, batch_size: int, now: datetime, after_id: int = 0,
            adapt_to: str | None = None) -> list[ScoreInput]:
    """The next batch to score. With `adapt_to` (the scoring model version), each mention carries
    its brand's class mix for that version (sentiment.adaptation), if it has one."""
    rows = session.execute(
        sa.select(
            Mention.id, Mention.title, Mention.text, Mention.likes, Mention.reposts, Mention.replies,
            Mention.created_at, Author.followers,
        )
        .outerjoin(Author, Author.id == Mention.author_id)
        .where(where, Mention.id > after_id)
        .order_by(Mention.id)
        .limit(batch_size)
    ).all()
    mixes = priors_of_mentions(session, adapt_to, [r.id for r in rows]) if adapt_to and rows else {}
    return [
        ScoreInput(
            text=f"{r.title}. {r.text}" if r.title else r.text,
            mention_id=r.id,
            followers=r.followers,
            velocity=engagement_velocity(r.likes, r.reposts, r.replies, (now - r.created_at).total_seconds() / 3600),
            priors=mixes.get(r.id),
        )
        for r in rows
    ]


def _adapt_to(scorer: ScorerLike) -> str | None:
    """The model version whose brand mixes the scorer adapts to; None when it does not adapt."""
    return scorer.version if getattr(scorer, "adapts", False) else None


def score_pending(
    db: Database,
    scorer: ScorerLike,
    *,
    batch_size: int,
    limit: int | None = None,
    clock: Callable[[], datetime] = utcnow,
    stop: threading.Event | None = None,
    on_progress: OnProgress | None = None,
) -> int:
    """Score unscored mentions (oldest id first) until none is left, `limit` is reached or `stop` is
    set (a shutting-down scheduler must not wait for a large backlog); return how many.
    `on_progress` hears ("scoring", scored so far, the backlog when it started) after each batch.

    On PostgreSQL several scorer processes share the backlog: each batch is claimed with
    `SELECT ... FOR UPDATE SKIP LOCKED` and scored and written in that same transaction, so another
    scorer takes the next batch instead of the same one, and a scorer that dies mid-batch releases
    its rows with its connection. SQLite has one writer: the batch is read, scored with no
    transaction open, and written in a short one.
    """
    done = 0
    last_id = 0
    total = None
    adapt_to = _adapt_to(scorer)
    if on_progress is not None:
        with db.session() as session:
            backlog = session.scalar(sa.select(sa.func.count()).where(Mention.scored_at.is_(None))) or 0
        total = backlog if limit is None else min(backlog, limit)
        on_progress("scoring", 0, total)
    while (limit is None or done < limit) and not (stop is not None and stop.is_set()):
        size = batch_size if limit is None else min(batch_size, limit - done)
        now = clock()
        if db.is_postgres:
            with db.session() as session:
                claimed = session.scalars(
                    sa.select(Mention.id)
                    .where(Mention.scored_at.is_(None), Mention.id > last_id)
                    .order_by(Mention.id)
                    .limit(size)
                    .with_for_update(skip_locked=True)
                ).all()
                batch = _inputs(session, Mention.id.in_(claimed), size, now, adapt_to=adapt_to) if claimed else []
                if batch:
                    record_scores(session, scorer.score(batch), now=clock())
        else:
            with db.session() as session:
                batch = _inputs(session, Mention.scored_at.is_(None), size, now, last_id, adapt_to=adapt_to)
            if batch:
                results = scorer.score(batch)
                with db.session() as session:
                    record_scores(session, results, now=clock())
        if not batch:
            break
        done += len(batch)
        last_id = batch[-1].mention_id or last_id
        log.info("scored %d mentions (%d so far)", len(batch), done)
        if on_progress is not None:
            on_progress("scoring", done, max(total or 0, done))  # mentions collected meanwhile raise the total
    return done


def rescore_recent(db: Database, scorer: ScorerLike, *, since: datetime, batch_size: int,
                   clock: Callable[[], datetime] = utcnow, on_progress: OnProgress | None = None) -> int:
    """Score every mention created since `since` with `scorer` (after a new model version)."""
    done = 0
    last_id = 0
    total = None
    adapt_to = _adapt_to(scorer)
    if on_progress is not None:
        with db.session() as session:
            total = session.scalar(sa.select(sa.func.count()).where(Mention.created_at >= since)) or 0
        on_progress("re-scoring", 0, total)
    while True:
        now = clock()
        with db.session() as session:
            batch = _inputs(session, Mention.created_at >= since, batch_size, now, last_id, adapt_to=adapt_to)
        if not batch:
            return done
        results = scorer.score(batch)
        with db.session() as session:
            record_scores(session, results, now=clock())
        done += len(batch)
        last_id = batch[-1].mention_id or last_id
        if on_progress is not None:
            on_progress("re-scoring", done, max(total or 0, done))


# -- evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelledCsv:
    texts: list[str]
    labels: list[str]
    groups: list[str] | None = None  # the --group-col value of each row (earful eval adapts per group)


def read_labelled_csv(path: Path, text_col: str, label_col: str, group_col: str | None = None) -> LabelledCsv:
    """Rows of (text, label[, group]); every problem names the file, the row (file line) and the column."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        for col in (text_col, label_col, *((group_col,) if group_col else ())):
            if col not in columns:
                raise InvalidInput(f"{path}: no column {col!r}; the header has {', '.join(map(repr, columns)) or 'nothing'}")
        texts, labels, groups = [], [], []
        for row in reader:
            line = reader.line_num
            text = (row.get(text_col) or "").strip()
            label = (row.get(label_col) or "").strip().lower()
            if not text:
                raise InvalidInput(f"{path}: row {line}, column {text_col!r}: empty text")
            if label not in LABELS:
                raise InvalidInput(
                    f"{path}: row {line}, column {label_col!r}: unknown label {row.get(label_col)!r}; "
                    "use positive, negative or neutral (any case)"
                )
            texts.append(text)
            labels.append(label)
            if group_col:
                groups.append((row.get(group_col) or "").strip())
    if not texts:
        raise InvalidInput(f"{path}: no data rows")
    return LabelledCsv(texts, labels, groups if group_col else None)


def evaluate_csv(path: Path | str, text_col: str, label_col: str, scorer: Any, *,
                 on_progress: OnProgress | None = None, group_col: str | None = None,
                 adaptation: Any = None) -> dict[str, Any]:
    """Both scorers' figures on the user's labelled CSV: the JSON shape of `earful eval --json`.
    With `adaptation` (`sentiment.adaptation`), also the model's figures adapted the way production
    adapts one brand's stream: over all rows, or over each `group_col` group."""
    data = read_labelled_csv(Path(path), text_col, label_col, group_col)
    return evaluate_labelled(data.texts, data.labels, scorer, on_progress=on_progress, adaptation=adaptation,
                             groups=data.groups)


def evaluate_tweeteval(folder: Path, scorer: Any, *, split: str = "test",
                       on_progress: OnProgress | None = None, adaptation: Any = None) -> dict[str, Any]:
    """`evaluate_labelled` on a TweetEval split (`earful eval --tweeteval`), with the published
    leaderboard beside it: its official metric is the macro-averaged recall."""
    from sentiment.tweets import PUBLISHED_TWEETEVAL, load_tweeteval

    data = load_tweeteval(folder, split)
    result = evaluate_labelled(data.texts, data.labels, scorer, on_progress=on_progress, adaptation=adaptation)
    return result | {"benchmark": {"name": "TweetEval sentiment", "split": split, "folder": str(folder),
                                   "metric": "macro_recall", "published": dict(PUBLISHED_TWEETEVAL)}}


def evaluate_labelled(texts: Sequence[str], labels: Sequence[str], scorer: Any, *,
                      on_progress: OnProgress | None = None, adaptation: Any = None,
                      groups: Sequence[str] | None = None) -> dict[str, Any]:
    """The model's and VADER's figures (sentiment.metrics.classification_report, and texts per second).

    `scorer` needs `labels(texts) -> list[str]` and `version` (sentiment.scorer.Scorer has both).
    The model labels the texts `EVAL_CHUNK` at a time, so `on_progress` hears ("scoring", done, n).
    With `logits` and `temperature` (sentiment.scorer.Scorer), "calibration" holds the model's own
    probabilities' ECE at temperature 1 ("before") and at the heads' temperature ("after"), from the
    same pass (`calibration_of`). With `adaptation` (`sentiment.adaptation`) and a scorer with
    `probabilities` and `base_priors`, "adapted" holds the figures adapted per group
    (sentiment.adaptation.adapted_figures), from the calibrated probabilities.
    """
    from sentiment.calibration import softmax

    texts = list(texts)
    started = time.perf_counter()
    predicted: list[str] = []
    probs, logits = [], []
    # A stand-in may give labels only, or probabilities without logits.
    gives_logits = hasattr(scorer, "logits")
    gives_probabilities = gives_logits or hasattr(scorer, "probabilities")
    adapts = adaptation is not None and gives_probabilities
    temperature = float(getattr(scorer, "temperature", 1.0))
    for start in range(0, len(texts), EVAL_CHUNK):
        chunk = texts[start:start + EVAL_CHUNK]
        if gives_logits:
            logits.append(scorer.logits(chunk))
            probs.append(softmax(logits[-1], temperature))  # what scorer.probabilities returns
        elif gives_probabilities:
            probs.append(scorer.probabilities(chunk))
        if gives_probabilities:
            predicted += [LABELS[i] for i in probs[-1].argmax(axis=1)]
        else:
            predicted += scorer.labels(chunk)
        if on_progress is not None:
            on_progress("scoring", len(predicted), len(texts))
    model_seconds = time.perf_counter() - started
    started = time.perf_counter()
    vader = [features.vader_label(c) for c in features.vader_features(texts)[:, 0]]
    vader_seconds = time.perf_counter() - started
    model = classification_report(labels, predicted)
    model["texts_per_s"] = round(len(texts) / max(model_seconds, 1e-9), 1)
    baseline = classification_report(labels, vader)
    baseline["texts_per_s"] = round(len(texts) / max(vader_seconds, 1e-9), 1)
    result = {"n": len(texts), "model_version": scorer.version, "model": model, "vader": baseline}
    if gives_probabilities:
        if logits:
            found, used = np.vstack(logits), temperature
        else:  # a stand-in without logits (or no texts): its probabilities are its logits, at temperature 1
            found = np.log(np.clip(np.vstack(probs), 1e-12, 1.0)) if probs else np.zeros((0, len(LABELS)))
            used = 1.0
        result["calibration"] = calibration_of(found, labels, used, getattr(scorer, "calibration", None))
    else:
        result["calibration"] = {"measured": False, "why": "this scorer gives labels, not probabilities"}
    if adaptation is not None and not adapts:
        result["adaptation"] = {"applied": False, "why": "this scorer gives labels, not probabilities"}
    elif adaptation is not None:
        from sentiment.adaptation import adapted_figures

        result |= adapted_figures(np.vstack(probs) if probs else np.zeros((0, len(LABELS))), labels, groups,
                                  scorer.base_priors, adaptation)
        if result["adapted"] is not None:
            result["adapted"]["texts_per_s"] = model["texts_per_s"]  # the same pass, plus milliseconds of EM
    return result


def calibration_of(logits: np.ndarray, labels: Sequence[str], temperature: float,
                   fitted: dict[str, Any] | None) -> dict[str, Any]:
    """`earful eval`'s "calibration": ECE, classwise ECE, NLL and the reliability table of
    softmax(logits) ("before") and softmax(logits / temperature) ("after", what the scorer returns),
    and the split the heads' temperature was fitted on (`fitted`: their meta["calibration"]; None,
    or too few held-out texts to fit one: T = 1)."""
    from sentiment.calibration import before_and_after

    gold = np.array([LABELS.index(label) for label in labels], dtype=int)
    return {"measured": True, **before_and_after(logits, gold, temperature),
            "fitted_on": fitted.get("fitted_on") if fitted and fitted.get("fitted", True) else None}


# -- corrections ---------------------------------------------------------------------------------


def _corrections_of(db: Database, fields: Sequence[str]) -> list[Any]:
    """Rows (mention_id, field, old_value, new_value, title, text) of these fields' corrections, oldest first."""
    with db.session() as session:
        return list(session.execute(
            sa.select(Correction.mention_id, Correction.field, Correction.old_value, Correction.new_value,
                      Mention.title, Mention.text)
            .join(Mention, Mention.id == Correction.mention_id)
            .where(Correction.field.in_(fields))
            .order_by(Correction.created_at, Correction.id)
        ).all())


def sentiment_corrections(db: Database) -> list[tuple[str, str]]:
    """(text, label) of the newest staff sentiment correction per mention."""
    newest: dict[int, tuple[str, str]] = {}
    rows = [(r.mention_id, r.new_value, r.title, r.text) for r in _corrections_of(db, ("sentiment",))]
    for mention_id, new_value, title, text in rows:
        value = new_value.get("label", new_value.get("sentiment", new_value.get("value"))) if isinstance(new_value, dict) else None
        if isinstance(value, str) and value.lower() in LABELS:
            newest[mention_id] = (f"{title}. {text}" if title else text, value.lower())
        else:
            log.warning("correction of mention %s has no usable label: %r", mention_id, new_value)
    return list(newest.values())


def labelled_examples(db: Database) -> list[LabelledText]:
    """The newest intent and topic correction of each mention, as one labelled text per mention.

    A topic correction's removed topics (the model's topics at the time, less the corrected set)
    make the text a counter-example of those topics (sentiment.examples).
    """
    intents: dict[int, str] = {}
    topics: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    texts: dict[int, str] = {}
    for r in _corrections_of(db, ("intent", "topic")):
        new_value = r.new_value if isinstance(r.new_value, dict) else {}
        texts[r.mention_id] = f"{r.title}. {r.text}" if r.title else r.text
        if r.field == "intent" and isinstance(new_value.get("label"), str):
            intents[r.mention_id] = new_value["label"]
        elif r.field == "topic" and isinstance(new_value.get("topics"), list):
            given = tuple(sorted(str(t) for t in new_value["topics"]))
            old = r.old_value.get("topics") if isinstance(r.old_value, dict) else None
            removed = tuple(sorted({str(t) for t in old or ()} - set(given)))
            topics[r.mention_id] = (given, removed)
        else:
            log.warning("%s correction of mention %s has no usable value: %r", r.field, r.mention_id, r.new_value)
    return [
        LabelledText(texts[m], intents.get(m), *topics.get(m, ((), ())))
        for m in sorted(set(intents) | set(topics))
    ]


def recent_since(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)


# -- training ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrainingSplits:
    """What `earful train` learns from and is measured on, with or without `--fine-tune`."""

    rated: list[Any]  # sentiment.data.Example: the VADER corpora's training splits
    tweets: list[Any]  # sentiment.tweets.Tweet: the SemEval tweets' training split ([] without the folder)
    heldout: dict[str, list[Any]]  # per corpus, "semeval" among them when the folder is configured
    tweet_corpus: Any  # sentiment.tweets.TweetCorpus, or None
    weaker: str | None  # why the model will be weaker on tweets, when the SemEval folder is missing


def training_splits(conf: Any, cache_dir: Path, corpora: dict[str, Any] | None = None,
                    subset: int | None = None) -> TrainingSplits:
    """The seeded splits of the rated corpora (`corpora`, or the VADER sdist's) and of the SemEval
    tweets of `conf.corpora`; `subset` keeps the first N training examples of each (tests)."""
    from sentiment.data import load_corpora, split
    from sentiment.tweets import training_tweets

    rated, heldout = [], {}
    for corpus, examples in (corpora if corpora is not None else load_corpora(cache_dir)).items():
        corpus_train, heldout[corpus] = split(examples)
        rated += corpus_train[:subset] if subset else corpus_train
    found = training_tweets(conf.corpora)
    if found.corpus is not None:
        heldout["semeval"] = found.heldout
    return TrainingSplits(rated, found.train[:subset] if subset else found.train, heldout, found.corpus, found.weaker)


def train_command(
    conf: Any,
    db: Database | None,
    *,
    now: datetime,
    cache_dir: Path | None = None,
    heads_dir: Path | None = None,
    rescore_days: float = 7.0,
    force: bool = False,
    encoder: Any = None,
    subset: int | None = None,
    corpora: dict[str, Any] | None = None,
    on_progress: OnProgress | None = None,
    paths: DataPaths | None = None,
) -> dict[str, Any]:
    """Retrain the heads (with staff corrections from `db`), keep them only if not worse, re-score.

    The new heads are written into the data directory `paths` (core.paths; None: the default one),
    its models/ checked writable before any work, and compared with the heads in effect: that
    folder's once it has a `CURRENT`, else the packaged read-only default, never written. An
    explicit `heads_dir` (tests, bench/) is both read and written instead. The caches are in
    `cache_dir`, else `paths.cache`, else sentiment.data.default_cache_dir.

    `conf` is the `sentiment` config section. `subset` trains on the first N examples of each
    corpus (tests); the held-out split is never touched. `corpora` replaces the rated corpora
    (`sentiment.data.load_corpora`, downloaded once) with others of the same shape (tests). The
    SemEval tweets of `conf.corpora.semeval` (sentiment.tweets) join them, 10 % held out as the
    corpus "semeval"; without them training goes on, logs why the model is weaker and returns that
    as `weaker`, and heads that learnt from tweets are not replaced by heads that did not. The held-out
    splits are also the development split the heads' temperature is fitted on (sentiment.calibration);
    the result's "calibration" says what it is and the ECE before and after. Sentiment
    corrections are weighted training examples; intent and topic corrections become the labelled
    examples of the zero-shot intent and topics (sentiment.examples). Returns what happened as plain data.
    `on_progress` hears each step begin (step, 0, 1) and end (step, 1, 1), and the re-scoring's counts.
    """
    def step(name: str, done: int) -> None:
        if on_progress is not None:
            on_progress(name, done, 1)

    from sentiment.data import default_cache_dir
    from sentiment.encoder import Encoder
    from sentiment.heads import heads_in_effect, load_heads
    from sentiment.scorer import Scorer
    from sentiment.train import Labelled, heldout_scores, new_version, train_heads

    if heads_dir is not None:  # an explicit folder: the current heads are read there, the new ones written there
        write_dir = read_dir = heads_dir
    else:
        paths = paths or DataPaths.of(None)
        write_dir = paths.writable(paths.models)
        read_dir = heads_in_effect(write_dir)
    if cache_dir is None:
        cache_dir = paths.writable(paths.cache) if paths is not None else default_cache_dir()
    encoder = encoder or Encoder(conf.model, max_length=conf.max_length, batch_size=conf.batch_size, threads=conf.threads or None)
    splits = training_splits(conf, cache_dir, corpora, subset)
    train, tweets, heldout = splits.rated, splits.tweets, splits.heldout
    tweet_corpus, weaker = splits.tweet_corpus, splits.weaker
    corrections = [Labelled(text, label, None, conf.correction_weight) for text, label in (sentiment_corrections(db) if db else [])]
    labelled = labelled_examples(db) if db else []
    # Named by what it learnt from too: scorers reload the heads when CURRENT names another version.
    version = new_version(now, f"{len(train)}:{len(tweets)}:{len(corrections)}:{conf.model}:{corrections!r}:{labelled!r}")
    step("training the heads", 0)
    # Calibrated on the held-out splits (the VADER corpora's and the SemEval 10 %; never TweetEval): one
    # temperature leaves every label, and so the gate's held-out macro-F1, as it was.
    heads = train_heads(encoder, train, corrections, tweets=tweets, dev=heldout, version=version,
                        cache_dir=cache_dir / "embeddings")
    heads.examples = Examples.encode(encoder, labelled)
    step("training the heads", 1)
    step("held-out scores", 0)
    scores = heldout_scores(heads, encoder, heldout, cache_dir / "embeddings")
    heads.meta |= {"heldout": scores, "corrections": len(corrections), "labelled_examples": len(heads.examples),
                   "trained_at": now.isoformat(), "tweets": tweet_corpus.summary() if tweet_corpus else None}
    current_scores = None
    try:
        current = load_heads(folder=read_dir)
        if current.encoder == heads.encoder:
            current_scores = heldout_scores(current, encoder, heldout, cache_dir / "embeddings")
    except Exception:  # no current model (a fresh folder) or an unreadable one: the new model wins
        current = None
    step("held-out scores", 1)
    # Held-out scores without the tweets would let heads that never saw one replace heads that did.
    lost_tweets = current is not None and bool(current.meta.get("tweets")) and tweet_corpus is None
    accepted = force or current_scores is None or (
        not lost_tweets and scores["mean"]["model"] >= current_scores["mean"]["model"])
    rescored = 0
    used = heads if accepted else _with_examples(current, heads.examples, now)
    if used is not None:
        used.save(write_dir)
        if db is not None and rescore_days > 0:
            scorer = Scorer.with_heads(encoder, used, conf)
            rescored = rescore_recent(db, scorer, since=recent_since(now, rescore_days), batch_size=conf.batch_size,
                                      on_progress=on_progress)
    return {
        "version": version,
        "accepted": accepted,
        "in_use": used.version if used is not None else (current.version if current else None),
        "labelled_examples": len(heads.examples),
        "examples_only": used is not None and not accepted,  # the current heads, with the new examples
        "heldout": scores,
        "calibration": heads.meta["calibration"],
        "current_heldout": current_scores,
        "corrections": len(corrections),
        "tweets": heads.meta["tweets"],
        "weaker": weaker,
        "kept_for_tweets": lost_tweets and not accepted,  # kept aside: the current heads learnt from tweets
        "rescored": rescored,
    }


def _with_examples(current: Any, examples: Examples, now: datetime) -> Any:
    """The current heads with the newest intent and topic examples, as a new version, when the new
    sentiment heads were kept aside: a verbatim staff label needs no held-out gate, and waiting for
    a better sentiment model would leave those corrections unused. None when nothing changed."""
    from dataclasses import replace

    from sentiment.train import new_version

    if current is None or examples.same_as(current.examples):
        return None
    version = new_version(now, f"examples:{current.version}:{len(examples)}")
    return replace(current, version=version, examples=examples,
                   meta=current.meta | {"examples_from": current.version, "trained_at": now.isoformat()})


def fine_tune_command(
    conf: Any,
    *,
    now: datetime,
    cache_dir: Path | None = None,
    heads_dir: Path | None = None,
    subset: int | None = None,
    corpora: dict[str, Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    stop: threading.Event | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    say: Callable[[str], None] | None = None,
    paths: DataPaths | None = None,
) -> dict[str, Any]:
    """`earful train --fine-tune`: the encoder and a 3-class head trained end to end
    (sentiment.fine_tune) on the same training splits as `train_command` (the VADER corpora and the
    SemEval tweets, each tweet weighing `TWEET_WEIGHT` as there; no staff corrections, never
    TweetEval), within `conf.fine_tune.max_minutes`, resuming from its newest checkpoint.

    A finished run, or one stopped by `max_minutes` (then as it stands, `partial`; a later run resumes
    from its checkpoint), is saved as a model folder under `conf.fine_tune.output_dir`, measured on the same
    held-out splits as the frozen heads in `heads_dir` (which are measured again, on their own
    encoder, when they were trained on `conf.model`), and compared with them; it is not put in use
    (see docs/model.md, "Fine-tuning"). Returns what happened as plain data. With the data directory
    `paths` (core.paths), the checkpoints and models default to its fine-tune/, the caches to its
    cache/ and `heads_dir` to the heads in effect; without, to folders under `cache_dir`.
    """
    from sentiment.data import default_cache_dir
    from sentiment.encoder import Encoder
    from sentiment.fine_tune import (
        FineTunedClassifier, TrainingText, compare, fine_tune, heldout_figures, read_meta, save_model, write_meta,
    )
    from sentiment.heads import heads_in_effect, load_heads
    from sentiment.train import TWEET_WEIGHT, heldout_scores

    settings = conf.fine_tune
    if cache_dir is None:
        cache_dir = paths.writable(paths.cache) if paths is not None else default_cache_dir()
    tuning = paths.fine_tune if paths is not None else cache_dir / "fine-tune"
    splits = training_splits(conf, cache_dir, corpora, subset)
    texts = ([TrainingText(e.text, LABELS.index(e.label)) for e in splits.rated]
             + [TrainingText(t.text, LABELS.index(t.label), TWEET_WEIGHT) for t in splits.tweets])
    checkpoints = Path(settings.checkpoint_dir) if settings.checkpoint_dir else tuning / "checkpoints"
    outcome, classifier, tokenizer = fine_tune(conf.model, texts, settings, checkpoint_dir=checkpoints,
                                               threads=conf.threads or None, clock=clock, stop=stop,
                                               on_step=on_step, say=say)
    window = min(100, len(outcome.losses))
    result: dict[str, Any] = {
        "finished": outcome.finished, "stopped_by": outcome.stopped_by, "step": outcome.step,
        "total_steps": outcome.total_steps, "epochs": round(outcome.epochs_done, 4), "device": outcome.device,
        "threads": outcome.threads, "resumed_from": outcome.resumed_from, "wall_s": round(outcome.wall_s, 1),
        "train_s": round(outcome.train_s, 1), "checkpoint": str(outcome.checkpoint) if outcome.checkpoint else None,
        "texts": {"rated": len(splits.rated), "tweets": len(splits.tweets)}, "weaker": splits.weaker,
        "loss_first": round(float(np.mean(outcome.losses[:window])), 4) if window else None,
        "loss_last": round(float(np.mean(outcome.losses[-window:])), 4) if window else None,
    }
    result["partial"] = not outcome.finished
    if not outcome.finished and outcome.stopped_by != "max_minutes":
        return result  # asked to stop (Ctrl-C): the checkpoint only
    # Finished, or out of time: the model as it stands is saved and measured; the checkpoint stays for a resumption.
    version = f"minilm-ft-{now:%Y%m%d%H%M}-{outcome.fingerprint[:6]}" + ("" if outcome.finished else f"-step{outcome.step}")
    output = Path(settings.output_dir) if settings.output_dir else tuning / "models"
    meta = {"version": version, "base_model": conf.model, "trained_at": now.isoformat(),
            "settings": settings.model_dump(exclude={"checkpoint_dir", "output_dir"}),
            "run": {k: result[k] for k in ("step", "total_steps", "epochs", "device", "threads", "train_s", "texts",
                                           "loss_first", "loss_last", "partial")},
            "fingerprint": outcome.fingerprint}
    folder = save_model(classifier, tokenizer, output / version, meta)
    del classifier
    tuned = FineTunedClassifier(folder, Encoder(str(folder), max_length=settings.max_length,
                                                batch_size=conf.batch_size, threads=conf.threads or None))
    figures = heldout_figures(tuned, splits.heldout)
    frozen = None
    try:
        heads = load_heads(folder=heads_dir or heads_in_effect(paths.models if paths is not None else None))
    except Exception:  # no heads in the folder (a fresh one, tests): nothing to compare with
        heads = None
    if heads is not None and heads.encoder == conf.model:
        frozen_encoder = Encoder(conf.model, max_length=conf.max_length, batch_size=conf.batch_size,
                                 threads=conf.threads or None)
        frozen = heldout_scores(heads, frozen_encoder, splits.heldout, cache_dir / "embeddings")
    comparison = compare(figures, frozen)
    write_meta(folder, read_meta(folder) | {"heldout": figures, "frozen_heads": heads.version if frozen else None,
                                            "comparison": comparison})
    return result | {"version": version, "model_dir": str(folder), "heldout": figures, "frozen_heldout": frozen,
                     "frozen_version": heads.version if frozen else None, "comparison": comparison}


__all__: Sequence[str] = (
    "train_command", "fine_tune_command", "training_splits",
    "score_pending", "rescore_recent", "evaluate_csv", "evaluate_labelled", "evaluate_tweeteval", "read_labelled_csv",
    "sentiment_corrections",
    "labelled_examples",
)


# Per config: (database, scorer, `sentiment` section, data directory whose CURRENT the reload watches).
_scorers: dict[str | None, tuple[Database, Any, Any, DataPaths]] = {}
# Set when the process shuts down: a scoring run in progress finishes its batch and returns.
STOPPING = threading.Event()
_scorers_lock = threading.Lock()


def loaded_scorer(config_path: str | None) -> tuple[Database, Any, Any]:
    """(database, scorer, `sentiment` section) of this process for `config_path`.

    The encoder is loaded once per process (it is the expensive part) and reused by later runs,
    behind a `SerialEncoder` since the scorer role's jobs share it. The heads are reloaded when the
    `CURRENT` in effect (the data directory's models/CURRENT once `earful train` wrote one, else the
    packaged sentiment/heads/CURRENT) names another version than the one in use: retraining in one
    scorer process (or `earful train` by hand) reaches every scorer process sharing that data
    directory at its next run.
    """
    from core.config import load_config
    from sentiment.encoder import SerialEncoder, encoder_from_settings
    from sentiment.heads import current_version, heads_in_effect, load_heads
    from sentiment.scorer import Scorer

    with _scorers_lock:
        if config_path not in _scorers:
            settings = load_config(config_path)
            paths = DataPaths.of(settings)
            db = Database.open(settings.database.url)
            encoder = SerialEncoder(encoder_from_settings(settings.sentiment, cache_dir=paths.cache))
            heads = load_heads(folder=heads_in_effect(paths.models))
            _scorers[config_path] = (db, Scorer.with_heads(encoder, heads, settings.sentiment), settings.sentiment, paths)
        db, scorer, conf, paths = _scorers[config_path]
        folder = heads_in_effect(paths.models)
        if current_version(folder) not in (None, scorer.version):
            scorer = Scorer.with_heads(scorer.encoder, load_heads(folder=folder), conf)
            _scorers[config_path] = (db, scorer, conf, paths)
            log.info("scoring with model %s from now on", scorer.version)
        return db, scorer, conf


def shared_encoder(config_path: str | None) -> Any:
    """The scoring encoder of this process, for the scorer role's other jobs (reply embeddings):
    one copy of the model in memory, and vectors from the model that scores."""
    return loaded_scorer(config_path)[1].encoder


def score_pending_job(config_path: str | None) -> None:
    """Scheduled job: score what the pollers stored since the last run (see `loaded_scorer`)."""
    db, scorer, conf = loaded_scorer(config_path)
    score_pending(db, scorer, batch_size=chunk_size(conf), stop=STOPPING)


def train_job(config_path: str | None) -> None:
    """Scheduled nightly retraining; a model that is used makes the scoring job reload its heads."""
    from core.config import load_config

    settings = load_config(config_path)
    db = Database.open(settings.database.url)
    try:
        result = train_command(settings.sentiment, db, now=utcnow(), paths=DataPaths.of(settings))
    finally:
        db.dispose()
    # A model that is used is named in the data directory's models/CURRENT: the scoring job of every
    # process sharing that data directory loads it at its next run.
    log.info("nightly training: model %s %s", result["version"], "in use" if result["accepted"] else "kept aside")
