"""Where Earful keeps what it makes: the data directory (`paths.data_dir`) and the folders inside it.

An installed package may be read-only and is replaced on upgrade, so nothing the product writes goes
there: the models `earful train` trains (`models/`, with the `CURRENT` that names the one in use), the
caches (`cache/`: embeddings, ONNX exports, the VADER corpora's sdist) and the fine-tuned models and
their checkpoints (`fine-tune/`) live under the data directory. The model committed in
sentiment/heads/ is the read-only default until `earful train` writes one (sentiment.heads.heads_in_effect).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from core.config import Settings

DATA_DIR_NAME = "earful-data"  # beside the configuration file
KEY = "paths.data_dir"


def default_data_dir(config_path: Path | None) -> Path:
    """`earful-data` beside the configuration file; without one, the platform's user data folder
    (~/.local/share/earful on Linux, ~/Library/Application Support/earful on macOS)."""
    if config_path is not None:
        return config_path.resolve().parent / DATA_DIR_NAME
    from platformdirs import user_data_path

    return user_data_path("earful", appauthor=False)


@dataclass(frozen=True, slots=True)
class DataPaths:
    """The data directory and its folders. Nothing is created until `writable` is asked for one."""

    root: Path

    @classmethod
    def of(cls, settings: Settings | None) -> DataPaths:
        """The data directory `settings` names (load_config makes it absolute), or the default one."""
        configured = settings.paths.data_dir if settings is not None else None
        if configured:
            return cls(Path(configured))
        return cls(default_data_dir(settings.config_path if settings is not None else None))

    @property
    def models(self) -> Path:
        """Trained heads (`<version>.npz`) and the `CURRENT` naming the one in use."""
        return self.root / "models"

    @property
    def cache(self) -> Path:
        """What can be made again: embeddings, ONNX exports, the downloaded corpora."""
        return self.root / "cache"

    @property
    def fine_tune(self) -> Path:
        """`earful train --fine-tune`'s `checkpoints/` and `models/`."""
        return self.root / "fine-tune"

    def writable(self, folder: Path) -> Path:
        """`folder` (one of the above), created if need be; a ConfigError naming `paths.data_dir`
        when it cannot be written, before any work that would be lost."""
        where = f"{self.root} (for {folder.relative_to(self.root)}/)" if folder.is_relative_to(self.root) else str(folder)
        fix = f"set {KEY} to a folder this user may write, or leave it unset for {DATA_DIR_NAME} beside the config file"
        blocking = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if blocking is not None and not blocking.is_dir():
            raise ConfigError(f"{where}: {blocking} is a file, not a folder; {fix}", key=KEY)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{where} cannot be created ({exc.strerror or exc}); {fix}", key=KEY) from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"{where} is not writable by this user; {fix}", key=KEY)
        return folder
