"""Docs that cannot rot: every configuration key is documented in docs/config.md."""

import typing
from pathlib import Path

from pydantic import BaseModel

from core.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def _models_in(annotation: object) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def config_keys(model: type[BaseModel] = Settings, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = f"{prefix}{name}"
        keys.add(key)
        is_sequence = typing.get_origin(field.annotation) is tuple
        for sub in _models_in(field.annotation):
            keys |= config_keys(sub, f"{key}[]." if is_sequence else f"{key}.")
    return keys


def test_every_config_key_is_documented() -> None:
    text = DOC.read_text()
    missing = sorted(k for k in config_keys() if f"`{k}`" not in text)
    assert not missing, f"add these keys to docs/config.md: {missing}"


def test_documented_keys_exist() -> None:
    import re

    documented = set(re.findall(r"^\| `([a-z_\[\]\.]+)`", DOC.read_text(), flags=re.M))
    assert documented, "docs/config.md lists no keys"
    stale = sorted(documented - config_keys())
    assert not stale, f"docs/config.md documents keys that no longer exist: {stale}"
