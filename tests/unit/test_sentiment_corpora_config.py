"""`sentiment.corpora`: folders relative to the configuration file, unset by default, bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config
from core.errors import ConfigError


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(text)
    return path


def test_folders_are_unset_by_default(tmp_path: Path) -> None:
    corpora = load_config(write(tmp_path, "{}\n"), env={}).sentiment.corpora
    assert corpora.semeval is None and corpora.tweeteval is None


def test_a_relative_folder_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path / "site", "sentiment:\n  corpora:\n    semeval: ../data/semeval\n"
                                    f"    tweeteval: {tmp_path / 'elsewhere'}\n")
    corpora = load_config(path, env={}).sentiment.corpora
    assert corpora.semeval == str((tmp_path / "data" / "semeval").resolve())
    assert corpora.tweeteval == str((tmp_path / "elsewhere").resolve())


def test_an_environment_override_is_anchored_too(tmp_path: Path) -> None:
    path = write(tmp_path / "site", "{}\n")
    corpora = load_config(path, env={"EARFUL_SENTIMENT__CORPORA__SEMEVAL": "tweets"}).sentiment.corpora
    assert corpora.semeval == str((tmp_path / "site" / "tweets").resolve())


@pytest.mark.parametrize("value, message", [("''", "an empty path; give the folder, or null"),
                                            ("[a, b]", "Input should be a valid string"),
                                            ("{x: 1}", "Input should be a valid string")])
def test_a_bad_folder_names_the_key(tmp_path: Path, value: str, message: str) -> None:
    path = write(tmp_path, f"sentiment:\n  corpora:\n    semeval: {value}\n")
    with pytest.raises(ConfigError, match=rf"sentiment\.corpora\.semeval: .*{message}"):
        load_config(path, env={})


def test_an_unknown_corpus_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sentiment\.corpora\.sms: unknown key"):
        load_config(write(tmp_path, "sentiment:\n  corpora:\n    sms: x\n"), env={})
