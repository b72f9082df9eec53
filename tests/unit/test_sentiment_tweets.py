"""Reading the SemEval and TweetEval tweets: decoding, dedupe, TweetEval left out, checksums.

The fixture (tests/fixtures/tweet-sentiment) is invented text in the files' layout; the tests on
the real data run only where ../shared/data/tweet-sentiment exists.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.errors import EarfulError
from sentiment import tweets
from sentiment.tweets import Tweet, decode_text, dedupe, normalise

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tweet-sentiment"
SEMEVAL = FIXTURE / "semeval2013-2016"
TWEETEVAL = FIXTURE / "tweeteval-2017"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "tweet-sentiment"


def test_decoding_undoes_quoting_escapes_and_entities() -> None:
    assert decode_text(r"It\u2019s on\u002c again") == "It’s on, again"
    assert decode_text('"they said ""expect delays"""') == 'they said "expect delays"'
    assert decode_text('"a quote never closed') == "a quote never closed"
    assert decode_text("fish &amp; chips") == "fish & chips"


def test_normalised_texts_ignore_handles_urls_case_and_punctuation() -> None:
    assert normalise("@parcelco My order!! http://t.co/x1 &amp; more") == normalise("@user my order... https://t.co/y & MORE")
    assert normalise("Street\\u2019s corner") == normalise("Street's corner")
    assert normalise("a bag") != normalise("a bus")


def test_the_fixture_is_deduped_and_leaves_tweeteval_out() -> None:
    corpus = tweets.load_semeval(SEMEVAL, TWEETEVAL)
    assert corpus is not None
    by_id = {t.id: t for t in corpus.tweets}
    assert (corpus.read, corpus.duplicate_ids, corpus.duplicate_texts) == (16, 1, 2)
    assert list(by_id).count("100002") == 1  # the same id in two files: the first copy is kept
    assert by_id["100002"].source == "twitter-2013train-A.txt"
    assert "200001" not in by_id  # the café tweet again, spelt otherwise: its first copy stays
    assert by_id["100001"].text == "Loving the new café on Elm Street’s corner, best flat white in town!"
    assert corpus.conflicting == 2 and not {"200003", "200004"} & set(by_id)  # copies that disagree: both go
    assert corpus.in_tweeteval == 1 and "200007" not in by_id  # TweetEval's test file holds it (as @user ...)
    assert by_id["100003"].text == 'The 8:15 to Leeds leaves from platform 4 tomorrow, they said "expect delays"'
    assert by_id["200005"].text == "@citynews: Roadworks on the ring road from Monday"  # its line break closed the quote
    assert by_id["200006"].text == "Great service at the garage today, car fixed in an hour"  # not the date column
    assert len(corpus.tweets) == 11
    assert set(corpus.files) == {"twitter-2013train-A.txt", "twitter-2016test-A.txt"}


def test_other_domains_are_never_training_tweets() -> None:
    corpus = tweets.load_semeval(SEMEVAL, TWEETEVAL)
    assert corpus is not None
    other = tweets.load_out_of_domain(SEMEVAL)
    assert {name: len(items) for name, items in other.items()} == {"sarcasm": 1, "sms": 2}
    trained = {normalise(t.text) for t in corpus.tweets}
    assert not trained & {normalise(t.text) for items in other.values() for t in items}
    assert other["sms"][0] == Tweet("11:900", "neutral", "ok see u at the station at 6", "sms-2013test-A.tsv")


def test_without_tweeteval_nothing_can_be_left_out() -> None:
    corpus = tweets.load_semeval(SEMEVAL, None)
    assert corpus is not None and corpus.in_tweeteval == 0
    assert "200007" in {t.id for t in corpus.tweets}


def test_dedupe_counts_each_kind_of_copy() -> None:
    items = [Tweet("1", "positive", "Good morning!", "a"), Tweet("1", "positive", "Good morning!", "b"),
             Tweet("2", "positive", "good   MORNING", "b"), Tweet("3", "negative", "late again", "a"),
             Tweet("4", "neutral", "Late again.", "b"), Tweet("5", "neutral", "bus at six", "b")]
    corpus = dedupe(items, exclude={"bus at six"})
    assert [t.id for t in corpus.tweets] == ["1"]
    assert (corpus.read, corpus.duplicate_ids, corpus.duplicate_texts, corpus.conflicting, corpus.in_tweeteval) == (
        6, 1, 2, 2, 1)


def test_a_changed_file_fails_its_checksum(tmp_path: Path) -> None:
    copy = tmp_path / "tweet-sentiment"
    shutil.copytree(FIXTURE, copy)
    target = copy / "semeval2013-2016" / "twitter-2013train-A.txt"
    target.write_text(target.read_text() + "100009\tpositive\tone more\n")
    with pytest.raises(EarfulError, match=r"twitter-2013train-A\.txt: sha256 [0-9a-f]{64} is not [0-9a-f]{64} "
                                          r"\(.*SHA256SUMS\).*obtain it again from the SemEval-2017 Task 4"):
        tweets.load_semeval(copy / "semeval2013-2016", copy / "tweeteval-2017")


def test_without_a_sums_file_the_pinned_sums_apply(tmp_path: Path) -> None:
    folder = tmp_path / "semeval"
    folder.mkdir()
    shutil.copy(SEMEVAL / "twitter-2013train-A.txt", folder)  # invented text: not the organisers' file
    with pytest.raises(EarfulError, match="the sums pinned in sentiment/tweets.py"):
        tweets.load_semeval(folder)


def test_a_bad_label_names_the_file_and_line() -> None:
    with pytest.raises(EarfulError, match=r"x\.txt line 2: unknown label 'mixed'"):
        tweets.parse_semeval("x.txt", "1\tpositive\tfine\n2\tmixed\tmeh\n")


def test_the_split_is_fixed_by_tweet_id() -> None:
    items = [Tweet(str(i), "neutral", f"text {i}", "a") for i in range(200)]
    train, held = tweets.split(items)
    assert len(held) == 20 and not {t.id for t in train} & {t.id for t in held}
    assert tweets.split(list(reversed(items)))[1] == sorted(held, key=lambda t: -int(t.id))


def test_tweeteval_is_read_with_its_mapping() -> None:
    bench = tweets.load_tweeteval(TWEETEVAL)
    assert len(bench.texts) == 6
    assert bench.labels == ["neutral", "positive", "negative", "neutral", "negative", "positive"]
    assert tweets.load_tweeteval(TWEETEVAL, "val").labels == ["neutral", "negative"]
    with pytest.raises(EarfulError, match="no split 'train'"):
        tweets.load_tweeteval(TWEETEVAL, "train")


def test_no_folder_means_training_without_tweets_and_saying_so(tmp_path: Path) -> None:
    found = tweets.training_tweets(SimpleNamespace(semeval=str(tmp_path / "absent"), tweeteval=None))
    assert found.train == [] and found.corpus is None
    assert found.weaker is not None and "weaker" in found.weaker
    assert "absent" in found.weaker and "alt.qcri.org/semeval2017/task4" in found.weaker
    unset = tweets.training_tweets(SimpleNamespace(semeval=None, tweeteval=None))
    assert unset.weaker is not None and "sentiment.corpora.semeval is not set" in unset.weaker


def test_describe_lists_each_file_as_the_model_card_does() -> None:
    text = tweets.describe(SEMEVAL, TWEETEVAL)
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.startswith(("twitter", "sms"))}
    assert rows["twitter-2016test-A.txt"][:2] == ["8", "3"] and rows["twitter-2013train-A.txt"][:2] == ["8", "8"]
    assert rows["twitter-2014sarcasm-A.txt"][:2] == ["1", "never"]
    assert rows["sms-2013test-A.tsv"][2] == (FIXTURE / "SHA256SUMS").read_text().split()[0]
    assert "kept 11" in text and "kept: negative 3, neutral 4, positive 4" in text
    assert "in TweetEval's test split (before dropping): 1" in text


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/tweet-sentiment is not here")
def test_the_shared_files_match_the_pinned_sums() -> None:
    sums, origin = tweets.expected_sums(SHARED / "semeval2013-2016")
    assert origin.endswith("SHA256SUMS")
    listed = sums | tweets.expected_sums(SHARED / "tweeteval-2017")[0]
    assert {name: listed[name] for name in tweets.PINNED_SHA256} == tweets.PINNED_SHA256


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/tweet-sentiment is not here")
def test_the_shared_tweets_never_include_tweeteval() -> None:
    corpus = tweets.load_semeval(SHARED / "semeval2013-2016", SHARED / "tweeteval-2017")
    assert corpus is not None and corpus.read > 50_000 - 1_000
    assert corpus.duplicate_ids + corpus.duplicate_texts >= 665  # the organisers' count of repeats
    benchmark = {normalise(t) for split in ("test", "val") for t in tweets.load_tweeteval(SHARED / "tweeteval-2017", split).texts}
    assert not benchmark & {normalise(t.text) for t in corpus.tweets}
    assert not any("\\u" in t.text for t in corpus.tweets)
    assert len(tweets.load_tweeteval(SHARED / "tweeteval-2017").texts) == 12_284
