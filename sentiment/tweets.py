"""Human-labelled tweets: the SemEval 2013-2016 Twitter sentiment gold files and the TweetEval benchmark.

The texts are not part of Earful (Twitter's terms allow their redistribution for research only):
`sentiment.corpora.semeval` and `sentiment.corpora.tweeteval` name folders a user fills from the
SemEval-2017 Task 4 site or the TweetEval repository (docs/model.md says where). Every file read is
checked against the folder's `SHA256SUMS` (in the folder or the one above it, as distributed), or,
without one, against the sums pinned here, so the data cannot change under a trained model.

The organisers' files repeat some tweets (665 duplicate annotations, their README says), and
TweetEval's test and validation tweets are drawn from the same stream, so `dedupe` keeps one copy
per tweet id and per normalised text, drops tweets whose copies disagree on the label, and drops
every tweet whose normalised text is also in TweetEval: the benchmark stays unseen. The SMS,
LiveJournal and sarcasm sets are other domains, read only by `load_out_of_domain`, never trained on.
"""

from __future__ import annotations

import hashlib
import html
import logging
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import AbstractSet as Set, Any, Iterable, Sequence

from core.errors import EarfulError

LABELS = ("negative", "neutral", "positive")
# Subtask A tweets, oldest edition first: where a tweet recurs, its first copy is the one kept.
SEMEVAL_TRAINING = (
    "twitter-2013train-A.txt", "twitter-2013dev-A.txt", "twitter-2013test-A.txt", "twitter-2014test-A.txt",
    "twitter-2015train-A.txt", "twitter-2015test-A.txt", "twitter-2016train-A.txt", "twitter-2016dev-A.txt",
    "twitter-2016devtest-A.txt", "twitter-2016test-A.txt",
)
# Other domains (and sarcasm): test sets for measuring what corrections teach, never training data.
OUT_OF_DOMAIN = {"sarcasm": "twitter-2014sarcasm-A.txt", "sms": "sms-2013test-A.tsv",
                 "livejournal": "livejournal-2014test-A.tsv"}
TWEETEVAL_SPLITS = ("test", "val")
TWEETEVAL_MAPPING = "mapping.txt"
# sha256 of the files as the SemEval-2017 Task 4 organisers and cardiffnlp/tweeteval distribute them.
PINNED_SHA256 = {
    "livejournal-2014test-A.tsv": "1b54487f3a40455e8bb20d28fdf84fa29f87d453caded9f40582ca64cff8828a",
    "sms-2013test-A.tsv": "4123538dc893a6638945286e49d2286acaf5fcbc5bbd8db6588c8cf0f9153100",
    "twitter-2013dev-A.txt": "e402ab2e9bad766275ef5af490e2c3b0edca8236d60e6e69227589186bffd896",
    "twitter-2013test-A.txt": "eb98d2342016eefda22dd563aa1ccde18aed399eeba572d8c963bbc56c196164",
    "twitter-2013train-A.txt": "111969d156c516b40bd504fcedcca52bbd44ec24add6f59290eb94df9b9c392c",
    "twitter-2014sarcasm-A.txt": "8321459374f88fc32b0b93da76c8740e7a3f30256886dbe9fcebb04b0ae8906f",
    "twitter-2014test-A.txt": "d6aa09ca41031e3deefb7e5b2f74f53260ab374f993e2275d8e4ccec6b210253",
    "twitter-2015test-A.txt": "54b3481924c025d31ac9669c049603b91035b40e8becd6629fb9476a6d9a62f4",
    "twitter-2015train-A.txt": "29780e613f562a511fa427196503c3f95fea6c0298470e157deab88a0e0ed65e",
    "twitter-2016dev-A.txt": "47bda81cb91db2bf92222a5f20742b5e3edc14eb391e74b882b284e5afd0c8bb",
    "twitter-2016devtest-A.txt": "c16686ebaa3b61770f4d4d2a60d051715146950faa93e039bb0aefb3523c3b38",
    "twitter-2016test-A.txt": "8bf50e0fb4d5ca3d4b27414cc620fe226b4d844cbff68db5b298c2e70803ab10",
    "twitter-2016train-A.txt": "f49f65cf5e94b47d077ab7715d3d0a656c09b5c71608678a672d7378ef79c932",
    "mapping.txt": "c0572796fbe261d8ea5fd16c5061076fbba49bc69fc865d6abccaf60daacee24",
    "test_labels.txt": "6afb4afe9374d1f983bcf9a7c79b108d0f37fdf020a83f30488309bed215db9d",
    "test_text.txt": "09a93a55c63fd93f97485ef7302889d7edb4091cd49733aa37da094f0bfa0675",
    "val_labels.txt": "b4566926c72e2e4e2916c864def94e76c4cdde52446af2c7ba4fc2006e057e51",
    "val_text.txt": "e5b021e6fc45064c260b09814b803d8f56cada519c4d952d72f43d48a350a964",
}
SEMEVAL_SOURCE = ("the SemEval-2017 Task 4 data (http://alt.qcri.org/semeval2017/task4/, "
                  "2017_English_final/GOLD/Subtask_A)")
TWEETEVAL_SOURCE = "the TweetEval repository (https://github.com/cardiffnlp/tweeteval, datasets/sentiment)"
# Macro-averaged recall (%) on the TweetEval sentiment test set, from the TweetEval leaderboard
# (Barbieri et al., Findings of EMNLP 2020, and cardiffnlp/tweeteval): what `earful eval --tweeteval` shows beside Earful's.
PUBLISHED_TWEETEVAL = (("SVM", 62.9), ("FastText", 62.9), ("LSTM", 58.3), ("RoBERTa-base", 71.3),
                       ("RoBERTa-retrained", 72.8), ("BERTweet", 73.4), ("TimeLMs-2021", 73.7))
SPLIT_SEED = 20170801
HELDOUT_FRACTION = 0.1

log = logging.getLogger(__name__)
_RECORD = re.compile(r"^(\d+)\t([a-z]+)\t(.*)$", re.S)
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_URL = re.compile(r"https?://\S+")
_HANDLE = re.compile(r"@\w+")
_NOT_WORD = re.compile(r"[^\w@]+")


@dataclass(frozen=True, slots=True)
class Tweet:
    id: str
    label: str
    text: str
    source: str  # the file it came from


@dataclass(frozen=True)
class TweetCorpus:
    """The training tweets after `dedupe`, with what was dropped and why (shown by `earful train`)."""

    tweets: tuple[Tweet, ...]
    read: int
    duplicate_ids: int
    duplicate_texts: int
    conflicting: int  # copies of one tweet with different labels: all dropped
    in_tweeteval: int
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256

    def summary(self) -> dict[str, object]:
        """Plain data for the heads file's metadata and what `earful train` prints."""
        return {"read": self.read, "duplicate_ids": self.duplicate_ids, "duplicate_texts": self.duplicate_texts,
                "conflicting": self.conflicting, "in_tweeteval": self.in_tweeteval, "kept": len(self.tweets),
                "files": dict(self.files)}


@dataclass(frozen=True)
class TrainingTweets:
    """What `earful train` learns from and holds out of the SemEval tweets, or why it has none."""

    train: list[Tweet]
    heldout: list[Tweet]
    corpus: TweetCorpus | None
    weaker: str | None  # set when training goes on without the tweets: what to tell the user


@dataclass(frozen=True)
class Benchmark:
    texts: list[str]
    labels: list[str]


def decode_text(raw: str) -> str:
    """The tweet as written: CSV-style quoting undone, literal `\\u2019` escapes and HTML entities decoded."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].replace('""', '"')
    elif text.startswith('"') and text.count('"') == 1:  # a quote opened and never closed
        text = text[1:]
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = text.replace('\\"', '"').replace('""', '"')
    return " ".join(html.unescape(text).split())


def normalise(text: str) -> str:
    """What makes two copies of a tweet the same: no URLs, handles, case, punctuation or spacing.

    TweetEval writes every handle as `@user` and decodes HTML entities; the SemEval files do neither.
    """
    text = _HANDLE.sub("@user", _URL.sub("http", decode_text(text))).lower()
    return " ".join(_NOT_WORD.sub(" ", text).split())


def parse_semeval(name: str, raw: str) -> list[Tweet]:
    """`id<TAB>label<TAB>text` lines. A line that starts no record continues the previous text (a
    quoted tweet with a line break); a trailing column (empty, or in a few 2016 lines the date) is ignored."""
    records: list[list[str]] = []
    for n, line in enumerate(raw.splitlines(), 1):
        match = _RECORD.match(line)
        if match is None:
            if not line.strip():
                continue
            if not records:
                raise EarfulError(f"{name} line {n}: expected tweet id<TAB>label<TAB>text")
            records[-1][2] += "\n" + line
            continue
        tweet_id, label, text = match.groups()
        if label not in LABELS:
            raise EarfulError(f"{name} line {n}: unknown label {label!r}; expected negative, neutral or positive")
        records.append([tweet_id, label, text])
    return [Tweet(i, label, decode_text(text.split("\t")[0]), name) for i, label, text in records]


def parse_out_of_domain(name: str, raw: str) -> list[Tweet]:
    """The SMS and LiveJournal files: `id<TAB>id<TAB>label<TAB>text`. Neither column alone is unique
    in both files (SMS repeats the second, LiveJournal the first), so the id is the pair."""
    items = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t", 3)
        if len(parts) != 4 or parts[2] not in LABELS:
            raise EarfulError(f"{name} line {n}: expected id<TAB>id<TAB>label<TAB>text with a known label")
        items.append(Tweet(f"{parts[0]}:{parts[1]}", parts[2], decode_text(parts[3]), name))
    return items


def dedupe(tweets: Iterable[Tweet], exclude: Set[str] = frozenset()) -> TweetCorpus:
    """One tweet per id and per normalised text, first copy first; copies that disagree on the
    label are all dropped (the raters could not agree), and so is any text in `exclude`."""
    tweets = list(tweets)
    keys = [normalise(t.text) for t in tweets]
    groups: dict[int, list[int]] = {}  # the first copy of a tweet -> every copy
    head_of_id: dict[str, int] = {}
    head_of_text: dict[str, int] = {}
    duplicate_ids = duplicate_texts = 0
    for i, tweet in enumerate(tweets):
        if tweet.id in head_of_id:
            duplicate_ids += 1
            head = head_of_id[tweet.id]
        elif keys[i] in head_of_text:
            duplicate_texts += 1
            head = head_of_text[keys[i]]
        else:
            head = i
        groups.setdefault(head, []).append(i)
        head_of_id.setdefault(tweet.id, head)
        head_of_text.setdefault(keys[i], head)
    kept, conflicting, in_tweeteval = [], 0, 0
    for head, copies in groups.items():
        if len({tweets[c].label for c in copies}) > 1:
            conflicting += len(copies)
        elif any(keys[c] in exclude for c in copies):
            in_tweeteval += 1
        else:
            kept.append(tweets[head])
    return TweetCorpus(tuple(kept), len(tweets), duplicate_ids, duplicate_texts, conflicting, in_tweeteval)


# -- reading the folders -------------------------------------------------------------------------


def expected_sums(folder: Path) -> tuple[dict[str, str], str]:
    """(file name -> sha256, where the sums came from): the `SHA256SUMS` beside the files or in the
    folder above (whose lines name `<folder>/<file>`), else the sums pinned in this module."""
    for sums_file, prefix in ((folder / "SHA256SUMS", ""), (folder.parent / "SHA256SUMS", folder.name + "/")):
        if sums_file.is_file():
            sums = {}
            for line in sums_file.read_text(encoding="utf-8").splitlines():
                digest, _, name = line.strip().partition("  ")
                if name.startswith(prefix) and "/" not in name[len(prefix):]:
                    sums[name[len(prefix):]] = digest.lower()
            return sums, str(sums_file)
    return dict(PINNED_SHA256), "the sums pinned in sentiment/tweets.py"


def read_verified(path: Path, sums: dict[str, str], origin: str, source: str) -> str:
    """The file's text, after checking its sha256; a mismatch says which file and how to fix it."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    expected = sums.get(path.name)
    if expected is None:
        raise EarfulError(f"{path}: no sha256 for it in {origin}; add its line to SHA256SUMS or obtain the "
                          f"files again from {source}")
    if digest != expected:
        raise EarfulError(f"{path}: sha256 {digest} is not {expected} ({origin}): the file is damaged or another "
                          f"version; obtain it again from {source}")
    return data.decode("utf-8")


def tweeteval_texts(folder: Path | None) -> set[str]:
    """The normalised texts of every TweetEval split present, so training can leave them out."""
    if folder is None or not folder.is_dir():
        return set()
    sums, origin = expected_sums(folder)
    found: set[str] = set()
    for split_name in TWEETEVAL_SPLITS:
        path = folder / f"{split_name}_text.txt"
        if path.is_file():
            found |= {normalise(line) for line in read_verified(path, sums, origin, TWEETEVAL_SOURCE).splitlines()}
    found.discard("")
    return found


def load_tweeteval(folder: Path, split_name: str = "test") -> Benchmark:
    """One TweetEval split: the texts and their labels (per `mapping.txt`), line by line."""
    if split_name not in TWEETEVAL_SPLITS:
        raise EarfulError(f"TweetEval has no split {split_name!r}; use one of {', '.join(TWEETEVAL_SPLITS)}")
    if not folder.is_dir():
        raise EarfulError(f"{folder} does not exist; set sentiment.corpora.tweeteval to the folder of "
                          f"{TWEETEVAL_SOURCE}")
    sums, origin = expected_sums(folder)
    paths = [folder / f"{split_name}_text.txt", folder / f"{split_name}_labels.txt", folder / TWEETEVAL_MAPPING]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise EarfulError(f"{folder} lacks {', '.join(missing)}; obtain them from {TWEETEVAL_SOURCE}")
    text, labels, mapping = (read_verified(p, sums, origin, TWEETEVAL_SOURCE) for p in paths)
    names = {}
    for line in mapping.splitlines():
        if line.strip():
            number, _, name = line.strip().partition("\t")
            names[number.strip()] = name.strip()
    if sorted(names.values()) != sorted(LABELS):
        raise EarfulError(f"{paths[2]}: expected the labels {', '.join(LABELS)}, found {sorted(names.values())}")
    texts, golds = text.splitlines(), labels.splitlines()
    if len(texts) != len(golds):
        raise EarfulError(f"{folder}: {paths[0].name} has {len(texts)} lines but {paths[1].name} {len(golds)}")
    unknown = sorted({g.strip() for g in golds} - set(names))
    if unknown:
        raise EarfulError(f"{paths[1]}: labels {unknown} are not in {TWEETEVAL_MAPPING}")
    return Benchmark([decode_text(t) for t in texts], [names[g.strip()] for g in golds])


def load_semeval(folder: Path, tweeteval: Path | None = None) -> TweetCorpus | None:
    """The SemEval training tweets of `folder`, deduped and without TweetEval's; None when the
    folder holds none of them (training then goes on without tweets: `missing_semeval_message`)."""
    if not folder.is_dir():
        return None
    present = [name for name in SEMEVAL_TRAINING if (folder / name).is_file()]
    if not present:
        return None
    sums, origin = expected_sums(folder)
    tweets: list[Tweet] = []
    files = {}
    for name in present:
        raw = read_verified(folder / name, sums, origin, SEMEVAL_SOURCE)
        files[name] = sums[name]
        tweets += parse_semeval(name, raw)
    corpus = dedupe(tweets, tweeteval_texts(tweeteval))
    return TweetCorpus(corpus.tweets, corpus.read, corpus.duplicate_ids, corpus.duplicate_texts,
                       corpus.conflicting, corpus.in_tweeteval, files)


def missing_files(folder: Path) -> list[str]:
    return [name for name in SEMEVAL_TRAINING if not (folder / name).is_file()]


def missing_semeval_message(folder: Path | None) -> str:
    """What `earful train` says when it trains without the SemEval tweets."""
    where = f"{folder} holds none of the SemEval tweet files" if folder else "sentiment.corpora.semeval is not set"
    return (f"training without the SemEval tweets ({where}): the model learns from the VADER corpora and staff "
            f"corrections only, and is weaker on real tweets (docs/model.md). Obtain the tweets from "
            f"{SEMEVAL_SOURCE} and set sentiment.corpora.semeval to their folder")


def load_out_of_domain(folder: Path) -> dict[str, list[Tweet]]:
    """The sarcasm, SMS and LiveJournal test sets present in `folder` (measuring, never training)."""
    sums, origin = expected_sums(folder)
    found = {}
    for name, filename in OUT_OF_DOMAIN.items():
        path = folder / filename
        if path.is_file():
            raw = read_verified(path, sums, origin, SEMEVAL_SOURCE)
            found[name] = dedupe(parse_semeval(filename, raw) if filename.endswith(".txt")
                                 else parse_out_of_domain(filename, raw)).tweets
    return {name: list(tweets) for name, tweets in found.items()}


def split(tweets: Sequence[Tweet], *, seed: int = SPLIT_SEED) -> tuple[list[Tweet], list[Tweet]]:
    """(train, held-out): a fixed 10 % by tweet id, so every machine holds out the same tweets."""
    order = sorted(range(len(tweets)), key=lambda i: tweets[i].id)
    random.Random(seed).shuffle(order)
    held = set(order[: round(len(order) * HELDOUT_FRACTION)])
    return ([t for i, t in enumerate(tweets) if i not in held], [t for i, t in enumerate(tweets) if i in held])


def training_tweets(corpora: Any) -> TrainingTweets:
    """The tweets of the `sentiment.corpora` section (`semeval`, `tweeteval` folders or None), split."""
    semeval = Path(corpora.semeval) if corpora.semeval else None
    tweeteval = Path(corpora.tweeteval) if corpora.tweeteval else None
    corpus = load_semeval(semeval, tweeteval) if semeval is not None else None
    if corpus is None:
        message = missing_semeval_message(semeval)
        log.warning("%s", message)
        return TrainingTweets([], [], None, message)
    missing = missing_files(semeval)  # type: ignore[arg-type]
    if missing:
        log.warning("%s lacks %s: training on the other SemEval files", semeval, ", ".join(missing))
    if tweeteval is None or not tweeteval.is_dir():
        log.warning("sentiment.corpora.tweeteval (%s) is not there: tweets that TweetEval also holds could not be "
                    "left out of training, so TweetEval figures of this model would flatter it", tweeteval)
    train, heldout = split(corpus.tweets)
    log.info("SemEval tweets: %d read, %d kept (%d duplicate ids, %d duplicate texts, %d with conflicting labels, "
             "%d also in TweetEval dropped); %d train, %d held out", corpus.read, len(corpus.tweets),
             corpus.duplicate_ids, corpus.duplicate_texts, corpus.conflicting, corpus.in_tweeteval, len(train),
             len(heldout))
    return TrainingTweets(train, heldout, corpus, None)


def describe(semeval: Path, tweeteval: Path | None) -> str:
    """Per file: tweets read, tweets kept for training and sha256 (the model card's table)."""
    corpus = load_semeval(semeval, tweeteval)
    if corpus is None:
        return missing_semeval_message(semeval)
    kept: dict[str, int] = {}
    for tweet in corpus.tweets:
        kept[tweet.source] = kept.get(tweet.source, 0) + 1
    sums, _ = expected_sums(semeval)
    lines = ["file                           tweets   kept  sha256"]
    for name in corpus.files:
        read = len(parse_semeval(name, (semeval / name).read_text(encoding="utf-8")))
        lines.append(f"{name:<30} {read:>6} {kept.get(name, 0):>6}  {sums[name]}")
    for name in (f for f in OUT_OF_DOMAIN.values() if (semeval / f).is_file()):
        raw = read_verified(semeval / name, sums, "", SEMEVAL_SOURCE)
        read = len(parse_semeval(name, raw) if name.endswith(".txt") else parse_out_of_domain(name, raw))
        lines.append(f"{name:<30} {read:>6}  never  {sums[name]}")
    summary = corpus.summary()
    del summary["files"]
    lines.append(", ".join(f"{k} {v}" for k, v in summary.items()))
    lines.append("kept: " + ", ".join(f"{label} {sum(t.label == label for t in corpus.tweets)}" for label in LABELS))
    if tweeteval is not None and (tweeteval / "test_text.txt").is_file():
        test = {normalise(t) for t in load_tweeteval(tweeteval, "test").texts}
        every = dedupe(t for name in corpus.files for t in parse_semeval(name, (semeval / name).read_text(encoding="utf-8")))
        lines.append(f"of them in TweetEval's test split (before dropping): {sum(normalise(t.text) in test for t in every.tweets)}")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m sentiment.tweets SEMEVAL_FOLDER [TWEETEVAL_FOLDER]
    import sys

    print(describe(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None))
