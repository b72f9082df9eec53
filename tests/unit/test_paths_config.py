"""`paths.data_dir` (core.config, core.paths): where it defaults to, how a relative one is read, the
environment override, and a folder that cannot be written named by its key before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config
from core.errors import ConfigError
from core.paths import DataPaths, default_data_dir


def test_the_default_is_earful_data_beside_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    config = tmp_path / "conf" / "config.yaml"
    config.write_text("{}\n")
    settings = load_config(config, env={})
    assert settings.paths.data_dir == str(tmp_path.resolve() / "conf" / "earful-data")
    paths = DataPaths.of(settings)
    assert (paths.models, paths.cache, paths.fine_tune) == tuple(
        tmp_path.resolve() / "conf" / "earful-data" / name for name in ("models", "cache", "fine-tune"))


def test_without_a_config_file_it_is_the_platforms_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config.yaml here
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    settings = load_config(None, env={})
    assert settings.config_path is None
    from platformdirs import user_data_path

    assert Path(settings.paths.data_dir) == user_data_path("earful", appauthor=False) == default_data_dir(None)
    assert DataPaths.of(None).root == default_data_dir(None)


def test_a_relative_data_dir_is_from_the_config_files_folder_and_the_env_overrides_it(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("paths:\n  data_dir: state/earful\n")
    assert load_config(config, env={}).paths.data_dir == str(tmp_path.resolve() / "state" / "earful")
    overridden = load_config(config, env={"EARFUL_PATHS__DATA_DIR": str(tmp_path / "elsewhere")})
    assert overridden.paths.data_dir == str(tmp_path / "elsewhere")


def test_a_blank_data_dir_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("paths:\n  data_dir: ' '\n")
    with pytest.raises(ConfigError, match=r"paths\.data_dir"):
        load_config(config, env={})


def test_writable_creates_the_folder_and_refuses_a_file_naming_the_key(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    assert paths.writable(paths.models) == tmp_path / "data" / "models" and paths.models.is_dir()
    (tmp_path / "a-file").write_text("not a folder")
    blocked = DataPaths(tmp_path / "a-file")
    with pytest.raises(ConfigError, match=r"^paths\.data_dir: .*a-file is a file, not a folder; set paths\.data_dir"):
        blocked.writable(blocked.models)
    assert not (tmp_path / "a-file").is_dir()
