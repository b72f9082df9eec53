"""Saved replies with placeholders: "Hi {author_name}, sorry about that. Case {case_id}."

A placeholder is a plain name in braces; `{{` and `}}` write literal braces. Templates are read with
`string.Formatter().parse` but never handed to `str.format`: attribute and index access (`{a.b}`,
`{a[0]}`), positional fields (`{}`, `{0}`), conversions (`{a!r}`) and format specs (`{a:>9}`) are
refused, so a template can only insert the values it is given.

A public reply must never go out with a raw `{x}` in it, nor with a hole where a value was missing:
rendering refuses a placeholder that has no (non-blank) value, and says which ones do.

The standard values come from plain arguments (no database objects), so everything here is pure.
"""

from __future__ import annotations

import re
import string
from typing import Collection, Mapping, Sequence

from core.config import SavedReply
from core.errors import ConfigError, InvalidInput
from responder.limits import platform_name

STANDARD_PLACEHOLDERS: frozenset[str] = frozenset(
    {"author_name", "author_handle", "brand", "case_id", "agent_name", "platform"}
)
PLACEHOLDER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_FORMATTER = string.Formatter()


def _pieces(text: str) -> list[tuple[str, str | None]]:
    """The template as (literal text, placeholder name or None) pairs, in order."""
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise InvalidInput(
            f"the text has a brace that opens or closes nothing ({exc}); write {{{{ or }}}} for a literal "
            "brace and {name} for a placeholder"
        ) from None
    pieces: list[tuple[str, str | None]] = []
    for literal, name, format_spec, conversion in parsed:
        if name is None:
            pieces.append((literal, None))
            continue
        suffix = (f"!{conversion}" if conversion else "") + (f":{format_spec}" if format_spec else "")
        written = "{" + name + suffix + "}"
        if not PLACEHOLDER_NAME.match(name):
            raise InvalidInput(
                f"{written} is not a placeholder; a placeholder is a plain name such as {{author_name}} "
                "(no dots, brackets or numbers); write {{ and }} for literal braces"
            )
        if conversion or format_spec:
            raise InvalidInput(f"{written} has formatting after the name; write {{{name}}} alone")
        pieces.append((literal, name))
    return pieces


def _listed(names: Collection[str]) -> str:
    return ", ".join("{" + n + "}" for n in sorted(names)) or "none"


def placeholders(text: str) -> set[str]:
    """The placeholder names `text` uses (InvalidInput when it is not a valid template)."""
    return {name for _, name in _pieces(text) if name is not None}


def known_placeholders(fields: Mapping[str, str]) -> frozenset[str]:
    """The standard placeholders plus the custom ones configured under responder.fields."""
    return STANDARD_PLACEHOLDERS | frozenset(fields)


def check_template(text: str, known: Collection[str]) -> None:
    """Refuse a template that is malformed or uses a placeholder outside `known`."""
    unknown = placeholders(text) - set(known)
    if unknown:
        which = f"placeholder {_listed(unknown)} is" if len(unknown) == 1 else f"placeholders {_listed(unknown)} are"
        raise InvalidInput(
            f"the {which} unknown; use one of {_listed(known)} (custom ones are set under responder.fields "
            "in config.yaml)"
        )


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill in every placeholder, or raise InvalidInput; never returns text with a `{x}` left in it.

    A blank value counts as missing: "Hi , thanks" is no better than "Hi {author_name}, thanks".
    """
    pieces = _pieces(text)
    filled = {name: value for name, value in values.items() if value and value.strip()}
    missing = {name for _, name in pieces if name is not None and name not in filled}
    if missing:
        has, it = ("has", "it") if len(missing) == 1 else ("have", "them")
        raise InvalidInput(
            f"{_listed(missing)} {has} no value for this reply; write the text in place of {it} "
            f"(placeholders with a value here: {_listed(filled)})"
        )
    return "".join(literal + (filled[name] if name is not None else "") for literal, name in pieces)


def template_values(
    *,
    author_name: str | None = None,
    author_handle: str | None = None,
    brand: str | None = None,
    case_id: int | str | None = None,
    agent_name: str | None = None,
    platform: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The values for one reply. A missing author name falls back to the handle; values that are
    missing or blank are left out (so `render` refuses a template that needs them). A custom field
    named like a standard placeholder is overridden by the standard value: case facts come first."""
    standard = {
        "author_name": author_name if author_name and author_name.strip() else author_handle,
        "author_handle": author_handle,
        "brand": brand,
        "case_id": None if case_id is None else str(case_id),
        "agent_name": agent_name,
        "platform": platform_name(platform) if platform else None,
    }
    values = {name: value for name, value in (fields or {}).items() if value and value.strip()}
    values.update({name: value.strip() for name, value in standard.items() if value and value.strip()})
    return values


def saved_replies_for(platform: str, saved: Sequence[SavedReply]) -> list[SavedReply]:
    """The saved replies offered on `platform`, in config order (empty `platforms`: everywhere)."""
    return [reply for reply in saved if not reply.platforms or platform in reply.platforms]


def check_saved_replies(saved: Sequence[SavedReply], fields: Mapping[str, str]) -> None:
    """Refuse, at start-up, a saved reply whose text is malformed or uses an unknown placeholder."""
    known = known_placeholders(fields)
    for index, reply in enumerate(saved):
        try:
            check_template(reply.text, known)
        except InvalidInput as exc:
            raise ConfigError(
                f"saved reply {reply.name!r}: {exc}", key=f"responder.saved_replies[{index}].text"
            ) from None
