"""The human-rated training data: Hutto & Gilbert (ICWSM 2014), shipped in vaderSentiment's sdist.

`pip download --no-binary :all: --no-deps vaderSentiment==3.3.2` fetches the source distribution
(the wheel lacks the corpora); its sha256 is pinned so the data cannot change under a trained model.
Each `*_GroundTruth.txt` line is `id<TAB>mean valence of ~20 raters on -4..+4<TAB>text`.

The held-out split is a pure function of the ids and a fixed seed, so `earful train` on any
machine holds out exactly the same 20 % of each corpus.
"""

from __future__ import annotations

import hashlib
import io
import random
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import EarfulError

SDIST = "vaderSentiment==3.3.2"
SDIST_FILE = "vaderSentiment-3.3.2.tar.gz"
SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
INNER = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
CORPORA = {
    "tweets": "tweets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}
LABELS = ("negative", "neutral", "positive")
SPLIT_SEED = 20140601
HELDOUT_FRACTION = 0.2


@dataclass(frozen=True, slots=True)
class Example:
    corpus: str
    id: str
    mean: float  # -4..+4
    text: str

    @property
    def label(self) -> str:
        return label_of(self.mean)


def label_of(mean: float) -> str:
    if mean > 0.5:
        return "positive"
    if mean < -0.5:
        return "negative"
    return "neutral"


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "earful"


def fetch_sdist(cache_dir: Path) -> Path:
    """The verified sdist, downloaded once into `cache_dir`."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / SDIST_FILE
    if not target.exists():
        cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", SDIST, "-d", str(cache_dir)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not target.exists():
            raise EarfulError(f"could not download {SDIST} with `{' '.join(cmd)}`: {done.stderr.strip()[-500:]}")
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise EarfulError(f"{target}: sha256 {digest} is not the pinned {SDIST_SHA256}; delete the file and retry")
    return target


def parse_ground_truth(corpus: str, raw: str) -> list[Example]:
    examples = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3:
            raise EarfulError(f"{CORPORA[corpus]} line {n}: expected id<TAB>mean<TAB>text")
        examples.append(Example(corpus, parts[0].strip(), float(parts[1]), parts[2].strip()))
    return examples


def load_corpora(cache_dir: Path | None = None) -> dict[str, list[Example]]:
    sdist = fetch_sdist(cache_dir or default_cache_dir())
    with tarfile.open(sdist) as outer:
        inner_bytes = outer.extractfile(INNER).read()  # type: ignore[union-attr]
    found: dict[str, list[Example]] = {}
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        for member in inner.getmembers():
            for corpus, filename in CORPORA.items():
                if member.name.endswith("/" + filename):
                    raw = inner.extractfile(member).read().decode("utf-8", errors="replace")  # type: ignore[union-attr]
                    found[corpus] = parse_ground_truth(corpus, raw)
    missing = set(CORPORA) - set(found)
    if missing:
        raise EarfulError(f"{INNER} lacks the corpora {sorted(missing)}")
    return {c: found[c] for c in CORPORA}


def split(examples: list[Example], *, seed: int = SPLIT_SEED) -> tuple[list[Example], list[Example]]:
    """(train, held-out): a fixed, seeded 20 % of one corpus is held out."""
    order = sorted(range(len(examples)), key=lambda i: examples[i].id)
    random.Random(f"{seed}:{examples[0].corpus if examples else ''}").shuffle(order)
    cut = round(len(order) * HELDOUT_FRACTION)
    held = set(order[:cut])
    train = [e for i, e in enumerate(examples) if i not in held]
    return train, [e for i, e in enumerate(examples) if i in held]
