"""Each own brand's class mix, estimated from its recent mentions and applied when they are scored.

The pure part (the EM, the adjustment) is `sentiment.priors`; this module is its I/O:

- **Base priors**: the class mix the heads were trained with, which their probabilities carry. The
  heads file says it (`meta["class_priors"]`, written by `earful train`); heads trained before that
  have a saved estimate beside them, `sentiment/heads/<version>.priors.json`, written once by
  `python bench/priors.py --save-base` from their training data. Heads with neither are scored
  without adaptation, and the scorer says so in the log.
- **Which brand's mix adapts a mention**: the own brand with the lowest id among those it matched,
  the brand a case opened for it belongs to (responder.cases.open_case). The brand's own posts and
  mentions of competitors only are not adapted.
- **Refresh** (`refresh_priors`, the scorer role's `priors` job every
  `sentiment.adaptation.interval_seconds`): for each own brand, the model's own probabilities on its
  mentions of the last `window_days` (the newest `max_mentions`) scored by the current model
  version go through the EM; a brand with fewer than `min_mentions` keeps the base priors. The
  result is stored per (brand, model version) in `brand_priors`.
- **Scoring** (`priors_of_mentions`): a mention is adapted to its brand's stored mix for the
  scoring model version; with none stored yet for that version (right after a new model), to the
  brand's newest estimate from another version, since the mix is the brand's traffic, not the
  model's; with none at all, not adapted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from core.db import Database
from core.models import Brand, BrandPriors, Mention, MentionBrand, Score, utcnow
from core.store import chunks, record_brand_priors
from sentiment.heads import HEADS_DIR, Heads
from sentiment.postprocess import LABELS
from sentiment.priors import adjust, check_priors, estimate_priors

log = logging.getLogger(__name__)
Mix = tuple[float, float, float]  # (negative, neutral, positive)


@dataclass(frozen=True, slots=True)
class BasePriors:
    """The class mix the heads' probabilities carry, and where that figure comes from."""

    priors: Mix
    source: str


def sidecar_path(version: str, folder: Path = HEADS_DIR) -> Path:
    return folder / f"{version}.priors.json"


def _as_mix(value: Any, where: str) -> Mix:
    if isinstance(value, Mapping):
        value = [value.get(label) for label in LABELS]
    try:
        mix = check_priors([float(v) for v in value], len(LABELS))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: class_priors must be three shares (negative, neutral, positive) "
                         f"summing to 1, got {value!r}: {exc}") from None
    return (float(mix[0]), float(mix[1]), float(mix[2]))


def base_priors(heads: Heads, folder: Path = HEADS_DIR) -> BasePriors | None:
    """The heads' training class mix: their metadata's `class_priors`, else the saved estimate
    beside them, else None (adaptation cannot be done for these heads)."""
    if heads.meta.get("class_priors") is not None:
        return BasePriors(_as_mix(heads.meta["class_priors"], f"heads {heads.version}"),
                          f"heads {heads.version} metadata (class_priors)")
    path = sidecar_path(heads.version, folder)
    if path.exists():
        saved = json.loads(path.read_text())
        return BasePriors(_as_mix(saved.get("class_priors"), str(path)), f"{path.name}: {saved.get('how', '')}".rstrip(": "))
    return None


# -- which brand's mix adapts a mention ------------------------------------------------------------


def adaptation_brands(session: Session, mention_ids: Sequence[int]) -> dict[int, int]:
    """Mention id -> the own brand whose mix adapts it (the lowest-id own brand it matched).

    Mentions posted by the brand's own accounts, and those naming only competitors, are left out."""
    found: dict[int, int] = {}
    for chunk in chunks(list(mention_ids)):
        found.update(session.execute(
            sa.select(MentionBrand.mention_id, sa.func.min(MentionBrand.brand_id))
            .join(Brand, Brand.id == MentionBrand.brand_id)
            .join(Mention, Mention.id == MentionBrand.mention_id)
            .where(MentionBrand.mention_id.in_(chunk), Brand.is_competitor.is_(False), Mention.is_own.is_(False))
            .group_by(MentionBrand.mention_id)
        ).all())
    return found


def brand_mixes(session: Session, model_version: str, brand_ids: Sequence[int]) -> dict[int, Mix]:
    """Brand id -> the mix its mentions are adapted to when scored by `model_version`.

    The estimate made with that version's probabilities; a brand with none yet takes its newest
    estimate from another version. A brand whose estimate says too few mentions gets none: its
    mentions keep the model's own probabilities."""
    wanted = sorted(set(brand_ids))
    if not wanted:
        return {}
    mixes: dict[int, Mix] = {}
    decided: set[int] = set()
    rows = session.execute(
        sa.select(BrandPriors.brand_id, BrandPriors.model_version, BrandPriors.adapted,
                  BrandPriors.p_negative, BrandPriors.p_neutral, BrandPriors.p_positive)
        .where(BrandPriors.brand_id.in_(wanted))
        .order_by(BrandPriors.brand_id, (BrandPriors.model_version == model_version).desc(),
                  BrandPriors.estimated_at.desc(), BrandPriors.id.desc())
    ).all()
    for r in rows:
        if r.brand_id in decided:
            continue
        if r.model_version == model_version:
            decided.add(r.brand_id)
            if r.adapted:
                mixes[r.brand_id] = (r.p_negative, r.p_neutral, r.p_positive)
        elif r.adapted:  # another version's newest estimate; rows of this version came first
            decided.add(r.brand_id)
            mixes[r.brand_id] = (r.p_negative, r.p_neutral, r.p_positive)
    return mixes


def priors_of_mentions(session: Session, model_version: str, mention_ids: Sequence[int]) -> dict[int, Mix]:
    """Mention id -> the class mix to adapt its probabilities to; mentions without one are absent."""
    brands = adaptation_brands(session, mention_ids)
    mixes = brand_mixes(session, model_version, list(brands.values()))
    return {m: mixes[b] for m, b in brands.items() if b in mixes}


# -- refresh ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrandEstimate:
    brand_id: int
    brand: str
    model_version: str
    priors: Mix
    adapted: bool
    mentions: int
    iterations: int
    converged: bool


def brand_posteriors(session: Session, brand_id: int, model_version: str, *, since: datetime,
                     limit: int) -> np.ndarray:
    """The model's own probabilities (n, 3) on the newest `limit` mentions since `since` that this
    brand's mix adapts, as scored by `model_version`."""
    lower = aliased(MentionBrand)
    other_own = (
        sa.select(lower.mention_id)
        .join(Brand, Brand.id == lower.brand_id)
        .where(lower.mention_id == MentionBrand.mention_id, lower.brand_id < brand_id, Brand.is_competitor.is_(False))
        .exists()
    )
    rows = session.execute(
        sa.select(sa.func.coalesce(Score.raw_p_negative, Score.p_negative),
                  sa.func.coalesce(Score.raw_p_neutral, Score.p_neutral),
                  sa.func.coalesce(Score.raw_p_positive, Score.p_positive))
        .select_from(MentionBrand)
        .join(Mention, Mention.id == MentionBrand.mention_id)
        .join(Score, sa.and_(Score.mention_id == MentionBrand.mention_id, Score.model_version == model_version))
        .where(MentionBrand.brand_id == brand_id, MentionBrand.created_at >= since, Mention.is_own.is_(False),
               ~other_own)
        .order_by(MentionBrand.created_at.desc())
        .limit(limit)
    ).all()
    return np.array(rows, dtype=float).reshape(len(rows), len(LABELS))


def estimate_brand(posteriors: np.ndarray, base: Mix, conf: Any) -> tuple[Mix, bool, int, bool]:
    """(mix, adapted, iterations, converged) for one brand's probabilities: the base mix below
    `conf.min_mentions` (`sentiment.adaptation`), else the EM's estimate."""
    if len(posteriors) < conf.min_mentions:
        return base, False, 0, True
    found = estimate_priors(posteriors, base, tolerance=conf.tolerance, max_iterations=conf.max_iterations)
    mix = (float(found.priors[0]), float(found.priors[1]), float(found.priors[2]))
    return mix, True, found.iterations, found.converged


def refresh_priors(db: Database, *, model_version: str, base: Mix, conf: Any,
                   now: datetime | None = None) -> list[BrandEstimate]:
    """Estimate every own brand's mix for `model_version` and store it, in one transaction.

    `conf` is the `sentiment.adaptation` section. Reading is one query per brand over the
    mention_brands time index; the EM is milliseconds for the default 20,000 mentions."""
    now = now or utcnow()
    since = now - timedelta(days=conf.window_days)
    estimates = []
    with db.session() as session:
        brands = session.execute(sa.select(Brand.id, Brand.name).where(Brand.is_competitor.is_(False))
                                 .order_by(Brand.id)).all()
        for brand_id, name in brands:
            posteriors = brand_posteriors(session, brand_id, model_version, since=since, limit=conf.max_mentions)
            mix, adapted, iterations, converged = estimate_brand(posteriors, base, conf)
            estimates.append(BrandEstimate(brand_id, name, model_version, mix, adapted, len(posteriors),
                                           iterations, converged))
        record_brand_priors(session, estimates, now=now)
    for e in estimates:
        log.info("brand %s: class mix %s from %d mentions (%s)", e.brand, "/".join(f"{p:.2f}" for p in e.priors),
                 e.mentions, "adapted" if e.adapted else f"fewer than {conf.min_mentions}: the model's own mix")
    return estimates


def refresh_priors_job(config_path: str | None) -> None:
    """Scheduled (scorer role, one node at a time): refresh the brands' mixes for the current heads."""
    from core.config import load_config
    from core.paths import DataPaths
    from sentiment.heads import heads_in_effect, load_heads

    settings = load_config(config_path)
    heads = load_heads(folder=heads_in_effect(DataPaths.of(settings).models))
    base = base_priors(heads)
    if base is None:
        log.warning("heads %s carry no class_priors and have no saved estimate: brands are not adapted; "
                    "retrain with `earful train` (or run `python bench/priors.py --save-base`)", heads.version)
        return
    db = Database.open(settings.database.url)
    try:
        refresh_priors(db, model_version=heads.version, base=base.priors, conf=settings.sentiment.adaptation)
    finally:
        db.dispose()


# -- evaluation -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupAdaptation:
    name: str
    n: int
    adapted: bool
    mix: Mix


def adapt_groups(probs: np.ndarray, groups: Sequence[str] | None, base: Mix,
                 conf: Any) -> tuple[np.ndarray, list[GroupAdaptation]]:
    """`probs` adapted the way production adapts one brand's stream (`earful eval`): each group's
    rows (all rows as one group when `groups` is None) get the mix estimated from that group's own
    probabilities, with `conf` (`sentiment.adaptation`); a group of fewer than `min_mentions` rows
    keeps the model's own probabilities, as a brand with few mentions does."""
    names = ["all rows"] * len(probs) if groups is None else list(groups)
    out = np.array(probs, dtype=float, copy=True)
    found = []
    for name in sorted(set(names), key=names.index):
        rows = np.array([i for i, g in enumerate(names) if g == name])
        mix, adapted, _, _ = estimate_brand(out[rows], base, conf)
        if adapted:
            out[rows] = adjust(out[rows], base, mix)
        found.append(GroupAdaptation(name, len(rows), adapted, mix))
    return out, found


def adapted_figures(probs: np.ndarray, gold: Sequence[str], groups: Sequence[str] | None,
                    base: BasePriors | None, conf: Any) -> dict[str, Any]:
    """What `earful eval` adds to the model's own figures: the figures of the labels adapted per
    group (`adapt_groups`) under "adapted", and what was adapted to what under "adaptation"."""
    from sentiment.metrics import classification_report

    if base is None:
        return {"adapted": None, "adaptation": {"applied": False, "why": "the heads' training class mix is unknown "
                                                "(no class_priors, no saved estimate)"}}
    adapted, found = adapt_groups(probs, groups, base.priors, conf)
    return {
        "adapted": classification_report(list(gold), [LABELS[i] for i in adapted.argmax(axis=1)]),
        "adaptation": {
            "applied": any(g.adapted for g in found), "base_priors": [round(p, 4) for p in base.priors],
            "base_source": base.source, "min_mentions": conf.min_mentions, "max_iterations": conf.max_iterations,
            "groups": [{"name": g.name, "n": g.n, "adapted": g.adapted, "mix": [round(p, 4) for p in g.mix]}
                       for g in found],
        },
    }
