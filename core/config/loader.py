"""Reading the configuration: find the file, parse its YAML, refuse literal secrets, resolve `${VAR}`
references, apply `EARFUL_*` and command-line overrides, validate, and anchor relative paths to the
file's folder. Also the effective configuration as `earful config check` shows it."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import yaml
from pydantic import ValidationError

from core.config.base import (
    REFERENCE,
    SECRET_KEYS,
    Substitution,
    describe_validation_error,
    dotted_key,
    mask_url_passwords,
)
from core.config.settings import Settings
from core.errors import ConfigError

ENV_PREFIX = "EARFUL_"

def find_config_path(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    if explicit:
        return Path(explicit)
    if env.get("EARFUL_CONFIG"):
        return Path(env["EARFUL_CONFIG"])
    default = Path("config.yaml")
    return default if default.exists() else None


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the effective settings. `overrides` are dotted keys from CLI flags (highest precedence)."""
    env = os.environ if env is None else env
    config_path = find_config_path(path, env)
    where = str(config_path) if config_path else "defaults"
    raw = _read_yaml(config_path) if config_path else {}
    _refuse_literal_secrets(raw, where)
    substitutions: list[Substitution] = []
    raw = _interpolate(raw, env, where, (), substitutions)
    overridden = {**_env_overrides(env, where), **{k: v for k, v in (overrides or {}).items() if v is not None}}
    for key, value in overridden.items():
        _set_dotted(raw, key, value, where)
        # An overridden string no longer shows what the file says.
        keys = tuple(key.split("."))
        substitutions = [sub for sub in substitutions if sub.trail[: len(keys)] != keys]
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, where, substitutions), path=None) from None
    base_dir = config_path.resolve().parent if config_path else Path.cwd()
    url = _anchor_sqlite_path(settings.database.url, base_dir)
    database = settings.database.model_copy(update={"url": url})
    sentiment = settings.sentiment.model_copy(update={"corpora": settings.sentiment.corpora.anchored(base_dir),
                                                      "fine_tune": settings.sentiment.fine_tune.anchored(base_dir)})
    settings = settings.model_copy(update={"config_path": config_path, "database": database, "sentiment": sentiment,
                                           "paths": settings.paths.anchored(base_dir, config_path)})
    settings._substitutions = tuple(substitutions)
    return settings


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found; create one with `earful init`", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{at}: {getattr(exc, 'problem', exc)}", path=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of sections (database:, brands:, ...)", path=str(path))
    return data


def _refuse_literal_secrets(node: Any, where: str, trail: tuple[str | int, ...] = ()) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SECRET_KEYS and isinstance(value, str) and value and not REFERENCE.fullmatch(value):
                env_name = "_".join(str(p) for p in (*trail, key) if isinstance(p, str)).upper()
                raise ConfigError(
                    f"a literal secret is not allowed in the file; export it as an environment "
                    f"variable and write ${{{env_name}}} instead",
                    key=dotted_key((*trail, key)),
                    path=where,
                )
            if key == "url" and isinstance(value, str) and "${" not in value and urlsplit(value).password:
                raise ConfigError(
                    "the URL holds a literal password; write it as "
                    "postgresql+psycopg://user:${PGPASSWORD}@host/db and export PGPASSWORD",
                    key=dotted_key((*trail, key)),
                    path=where,
                )
            _refuse_literal_secrets(value, where, (*trail, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _refuse_literal_secrets(value, where, (*trail, i))


def _interpolate(
    node: Any, env: Mapping[str, str], where: str, trail: tuple[str | int, ...], found: list[Substitution]
) -> Any:
    """`node` with every ${VAR} replaced by its value; each string that held one is added to `found`."""
    if isinstance(node, dict):
        return {k: _interpolate(v, env, where, (*trail, k), found) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, env, where, (*trail, i), found) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:
        values: list[tuple[str, str]] = []

        def resolve(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError(
                    f"environment variable {name} is not set; export it before starting Earful",
                    key=dotted_key(trail),
                    path=where,
                )
            values.append((env[name], match.group(0)))
            return env[name]

        resolved = REFERENCE.sub(resolve, node)
        if values:
            found.append(Substitution(trail, node, resolved, tuple(values)))
        return resolved
    return node


def _env_overrides(env: Mapping[str, str], where: str) -> dict[str, Any]:
    top_level_sections = set(Settings.model_fields) - {"config_path", "brands", "sources"}
    found: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if parts[0] not in top_level_sections:
            raise ConfigError(
                f"environment variable {name} names no setting; nested settings are "
                f"EARFUL_<SECTION>__<KEY> with a section among {sorted(top_level_sections)}",
                path=where,
            )
        found[".".join(parts)] = yaml.safe_load(value) if value else value
    return found


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any, where: str) -> None:
    node = raw
    *parents, last = dotted.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {dotted}: {part} is not a section", key=dotted, path=where)
        node = child
    node[last] = value


def _anchor_sqlite_path(url: str, base_dir: Path) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return url
    db_path = Path(parsed.database)
    if not db_path.is_absolute():
        db_path = (base_dir / db_path).resolve()
    return parsed.set(database=str(db_path)).render_as_string(hide_password=False)


def effective_config(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data for `earful config check`: secrets masked, every value
    that came from a ${VAR} shown as the file writes it, and URLs without their password."""
    data = settings.model_dump(mode="json", exclude={"config_path"})
    from sqlalchemy.engine import make_url

    data["database"]["url"] = make_url(settings.database.url).render_as_string(hide_password=True)
    for sub in settings._substitutions:
        _put(data, sub.trail, sub.written)
    return _mask_urls(data)


def _put(data: Any, trail: tuple[str | int, ...], value: str) -> None:
    *parents, last = trail
    for part in parents:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(data, dict) and last in data or isinstance(data, list) and isinstance(last, int) and last < len(data):
        data[last] = value


def _mask_urls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _mask_urls(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_mask_urls(v) for v in node]
    return mask_url_passwords(node) if isinstance(node, str) else node
