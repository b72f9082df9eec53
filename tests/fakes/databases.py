"""Migrated SQLite databases for tests, copied from one file migrated once per session.

The session's template is the `migrated_sqlite` fixture (tests/conftest.py); running the migrations
takes ~0.1 s a database, copying the file ~1 ms, and each test still has a database of its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from core.db import Database


def migrate_template(path: Path) -> Path:
    """`path` made an SQLite database at the head revision, all of it in the one file."""
    Database.open(f"sqlite:///{path}").dispose()
    # The last connection closed checkpoints the WAL into the file: there is nothing beside it to copy.
    assert not path.with_name(f"{path.name}-wal").exists()
    return path


def migrated_sqlite_copy(template: Path, target: Path) -> str:
    """`target` made a copy of the migrated `template`; its URL."""
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"
