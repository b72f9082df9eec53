"""What every section and the loader share: the `Section` base, the `${VAR}` and secret-key rules,
masking of what quotes configuration, and turning pydantic's validation errors into lines that name
the file and the key (`file: key.path: problem`), which the CLI prints before it exits 2."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from core.mention import PLATFORMS

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Keys whose values are credentials. A literal value under one of these names is refused.
SECRET_KEYS = frozenset(
    {
        "password",
        "app_password",
        "client_secret",
        "consumer_secret",
        "access_token",
        "access_token_secret",
        "bearer_token",
        "api_key",
        "oauth_refresh_token",
        "webhook_url",
    }
)
MASK = "***"
# scheme://user:password@ anywhere in a text; the password part is what gets masked.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@'\"]*:)(?P<password>[^\s@'\"]+)(?=@)")


def mask_url_passwords(text: str) -> str:
    """`text` with the password of every URL in it masked; a ${VAR} reference stays as written."""
    return _URL_PASSWORD.sub(
        lambda m: m["head"] + (m["password"] if REFERENCE.fullmatch(m["password"]) else MASK), text)


@dataclass(frozen=True, slots=True)
class Substitution:
    """A string of the config file that held ${VAR} references: where it is, as written and as resolved.

    Anything that quotes configuration (an error, `earful config check`) shows `written`: the
    resolved value may be a secret whatever its key is called."""

    trail: tuple[str | int, ...]
    written: str
    resolved: str
    values: tuple[tuple[str, str], ...]  # (the variable's value, "${NAME}") for each reference in it

    def touches(self, keys: tuple[str | int, ...]) -> bool:
        """True when this string lies under `keys` or `keys` lies under it."""
        n = min(len(keys), len(self.trail))
        return self.trail[:n] == keys[:n]


def hide_substitutions(text: str, substitutions: tuple[Substitution, ...] | list[Substitution]) -> str:
    """`text` with every resolved value of `substitutions` put back as written, and URL passwords masked."""
    pairs: list[tuple[str, str]] = []
    for sub in substitutions:
        pairs.append((sub.resolved, sub.written))
        pairs.extend(sub.values)
    for value, shown in sorted(pairs, key=lambda pair: -len(pair[0])):
        if value:
            for form in dict.fromkeys((value, repr(value)[1:-1], value.encode("unicode_escape").decode())):
                text = text.replace(form, shown)
    return mask_url_passwords(text)


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL; write it like https://example.com/path")
    return value.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_check_http_url)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def dotted_key(trail: tuple[str | int, ...]) -> str:
    """A key path as errors name it: ("sources", 0, "name") is sources[0].name."""
    out = ""
    for part in trail:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe_validation_error(exc: ValidationError, where: str, substitutions: list[Substitution]) -> str:
    """One line per problem, quoting what the file says: a value that came from a ${VAR} is shown as
    that reference (pydantic's messages quote the resolved input), a secret key's value as ***, and
    a URL without its password."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        # Discriminated unions add the tag ("mastodon") after the list index; it is no key.
        loc = [p for i, p in enumerate(loc) if not (i > 0 and isinstance(loc[i - 1], int) and p in PLATFORMS)]
        keys = tuple(p for p in loc if isinstance(p, (str, int)))
        key = dotted_key(keys)
        near = [sub for sub in substitutions if sub.touches(keys)]
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key; check its spelling against docs/config.md"
        elif err["type"] == "missing":
            message = "required key is missing"
        elif "input" in err and err["type"] not in ("union_tag_invalid",) and not isinstance(err["input"], (dict, list)):
            secret = any(isinstance(p, str) and p in SECRET_KEYS for p in keys)
            written = next((sub.written for sub in near if sub.trail == keys), None)
            shown = written if written is not None else (MASK if secret else err["input"])
            message = f"{message} (got {shown!r})"
        if err["type"] == "union_tag_invalid":
            message = f"unknown platform; use one of {', '.join(p for p in PLATFORMS if p != 'import')}"
        message = hide_substitutions(message, near)
        lines.append(f"{where}: {key}: {message}" if key else f"{where}: {message}")
    return "\n".join(lines)
