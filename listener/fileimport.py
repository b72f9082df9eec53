"""`earful import`: backfill mentions from the CSV and JSON-lines files that other tools export.

Parsing is kept apart from storing: `read_rows` turns a file into `MentionIn`s and `RowIssue`s (one
bad row never stops the rest) and touches no database, so the CLI can preview a file and tests can
feed it plain text. `import_file` streams those rows through `listener.enrich` into
`core.store.store_batch`, one transaction per batch, and reports every row it did not insert with the
line a person can open in an editor.

A file that cannot be imported at all (unknown format, not UTF-8, a required column missing) raises
`InvalidInput` before anything is stored, naming what is wrong and the flag that fixes it.

Rows already in the database are reported as "already stored" and left untouched: an export carries
no engagement counts, and passing those rows to `store_batch` would overwrite the counts a poller
collected with zeros.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Mapping, Sequence

import sqlalchemy as sa
from dateutil.parser import isoparse
from sqlalchemy.orm import Session

from core.db import Database
from core.errors import InvalidInput
from core.mention import PLATFORMS, AuthorIn, MentionIn, utc
from core.models import Mention, utcnow
from core.store import CHUNK, store_batch
from listener.enrich import BrandMatcher, enrich
from listener.language import detect_language

Format = Literal["csv", "jsonl"]
SUFFIX_FORMATS: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
MAX_ID_LENGTH = 300  # mentions.native_id and authors.handle are VARCHAR(300)


@dataclass(frozen=True)
class ImportOptions:
    """How to read one file: its format, the platform its rows belong to, and which column is which."""

    format: Format | None = None  # None: from the file suffix (.csv, .jsonl/.ndjson/.json lines)
    platform: str = "import"  # must be one of core.mention.PLATFORMS
    id_col: str = "id"
    text_col: str = "text"
    time_col: str = "created_at"
    author_col: str | None = "author"  # optional column: absent from file -> no author
    url_col: str | None = "url"
    language_col: str | None = "language"

    def __post_init__(self) -> None:
        if self.format not in (None, "csv", "jsonl"):
            raise InvalidInput(f"unknown format {self.format!r}; pass --format csv or --format jsonl")
        if self.platform not in PLATFORMS:
            raise InvalidInput(
                f"unknown platform {self.platform!r}; pass --platform with one of {', '.join(PLATFORMS)}"
            )
        for name in ("id_col", "text_col", "time_col"):
            if not getattr(self, name):
                raise InvalidInput(f"{_flag(name)} is empty; pass the name of the column")


@dataclass(frozen=True)
class RowIssue:
    line: int
    native_id: str | None
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    """Every data row read ends up in exactly one place: rows == inserted + duplicates + rejected."""

    rows: int = 0
    inserted: int = 0
    duplicates: list[RowIssue] = field(default_factory=list)
    rejected: list[RowIssue] = field(default_factory=list)


# --- times ------------------------------------------------------------------------------------

ACCEPTED_TIMES = "use ISO 8601, RFC 2822, M/D/YYYY H:MM or epoch seconds"
_EPOCH = re.compile(r"\d+(?:\.\d+)?")
_ISO_SHAPE = re.compile(r"\d{4}-?(?:\d{2}|W\d{2})(?:-?\d{1,2})?(?:[Tt ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?)?")
_ISO_ZONE = re.compile(r"\s*(?P<zone>[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$")
_RFC2822 = re.compile(
    r"(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:\s+(?:[+-]\d{4}|UT|UTC|GMT|Z|[ECMP][SD]T))?"
)
_US_SHAPE = re.compile(r"(?P<first>\d{1,2})/(?P<second>\d{1,2})/\d{2}(?:\d{2})?(?:\s.*)?")
_STRPTIME_FORMATS = (
    "%a %b %d %H:%M:%S %z %Y",  # Twitter API v1.1 and the Twitter archive's tweets.js
    "%m/%d/%Y %H:%M",  # spreadsheets (US month/day)
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y",
    "%m/%d/%y %H:%M",  # Excel's default US short format
    "%m/%d/%y",
)
_EPOCH_START = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_time(value: str) -> datetime:
    """Read a time in one of the formats real exports use; naive times are UTC. Never guesses."""
    text = value.strip()
    if not text:
        raise ValueError("cannot read an empty value as a time")
    if _EPOCH.fullmatch(text):
        return _parse_epoch(text)
    if _ISO_SHAPE.match(text):
        return _parse_iso(text)
    if _RFC2822.fullmatch(text):
        try:
            return utc(parsedate_to_datetime(text))
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"cannot read {value!r} as a time ({exc}); {ACCEPTED_TIMES}") from None
    for fmt in _STRPTIME_FORMATS:
        try:
            return utc(datetime.strptime(text, fmt))
        except ValueError:
            continue
    hint = ""
    us = _US_SHAPE.fullmatch(text)
    if us and int(us["first"]) > 12 >= int(us["second"]):
        hint = " (it looks like day/month; slashed dates are read as month/day)"
    raise ValueError(f"cannot read {value!r} as a time{hint}; {ACCEPTED_TIMES}")


def _parse_epoch(text: str) -> datetime:
    if len(text.split(".")[0]) < 9:
        # 2015 or 20150224 would be read as moments in 1970: far more likely a year or a compact date.
        raise ValueError(f"cannot read {text!r} as a time (too small for epoch seconds); {ACCEPTED_TIMES}")
    seconds = float(text)
    for _unit in ("milliseconds", "microseconds", "nanoseconds"):
        if seconds > 1e11:  # later than the year 5138 in seconds: a finer unit
            seconds /= 1000
    if seconds > 1e11:
        raise ValueError(f"cannot read {text!r} as a time (too large for an epoch time); {ACCEPTED_TIMES}")
    return _EPOCH_START + timedelta(seconds=seconds)


def _parse_iso(text: str) -> datetime:
    body, zone = text, ""
    found = _ISO_ZONE.search(text)
    if found and found.start() >= 10:  # a zone can only follow a time, never the date's own hyphens
        body, zone = text[: found.start()], found["zone"]
        zone = "+00:00" if zone.upper() in ("Z", "UTC", "GMT") else zone
    if not _ISO_SHAPE.fullmatch(body):
        raise ValueError(f"cannot read {text!r} as a time; {ACCEPTED_TIMES}")
    try:
        return utc(isoparse(body + zone))
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"cannot read {text!r} as a time ({exc}); {ACCEPTED_TIMES}") from None


# --- columns and rows -------------------------------------------------------------------------

_MISSING = object()
_OPTIONAL = ("author_col", "url_col", "language_col")
_LANGUAGE_TAG = re.compile(r"([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*")


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


@dataclass(frozen=True)
class Columns:
    """The keys each field is read from, resolved against the file (None: not in the file)."""

    id: str
    text: str
    time: str
    author: str | None = None
    url: str | None = None
    language: str | None = None


def resolve_columns(
    available: Sequence[str],
    options: ImportOptions,
    path: Path,
    *,
    has: Callable[[str], bool] | None = None,
    sparse: bool = False,
) -> Columns:
    """Match the configured names to the file's columns, or fail naming the flag that fixes it.

    `available` is the CSV header or the first JSON object's keys; `has` (JSON) also accepts nested
    names such as "user.screen_name". A differently-cased or padded header name is accepted. With
    `sparse` (JSON, whose exporters leave out null fields) optional columns are never checked.
    """
    has = has or (lambda name: name in available)
    defaults = {f.name: f.default for f in dataclasses.fields(ImportOptions)}
    by_folded = {name.strip().casefold(): name for name in available}
    resolved: dict[str, str | None] = {}
    problems = []
    for option in ("id_col", "text_col", "time_col", *_OPTIONAL):
        wanted = getattr(options, option)
        if wanted is None or has(wanted):
            resolved[option] = wanted
        elif wanted.strip().casefold() in by_folded:
            resolved[option] = by_folded[wanted.strip().casefold()]
        elif option in _OPTIONAL and sparse:
            resolved[option] = wanted  # absent from the first object, perhaps present in later ones
        elif option in _OPTIONAL and wanted == defaults[option]:
            resolved[option] = None  # an optional column under its default name may be absent
        else:  # required, or optional but named on purpose (a typo must not silently drop data)
            close = [name for name in available if wanted.casefold() in name.casefold()]
            close = close or difflib.get_close_matches(wanted, available, n=1)
            suggestion = f" (did you mean {_flag(option)} {close[0]}?)" if close else ""
            problems.append(f"no column {wanted!r}; pass {_flag(option)} with the right name{suggestion}")
    if problems:
        shown = ", ".join(available[:40]) + (", ..." if len(available) > 40 else "")
        hint = ""
        if len(available) == 1 and any(sep in available[0] for sep in ";\t|"):
            hint = ". The header has a single column, so the file may use ';' or tabs: save it comma-separated"
        raise InvalidInput(f"{path}: {'; '.join(problems)}. The file has the columns: {shown}{hint}")
    return Columns(
        id=str(resolved["id_col"]),
        text=str(resolved["text_col"]),
        time=str(resolved["time_col"]),
        author=resolved["author_col"],
        url=resolved["url_col"],
        language=resolved["language_col"],
    )


def _field(row: Mapping[str, Any], key: str) -> Any:
    if key in row:
        return row[key]
    value: Any = row
    for part in key.split("."):  # JSON: "user.screen_name" reads a nested field
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _as_text(row: Mapping[str, Any], key: str | None, *, is_id: bool = False) -> str | None:
    """A field as text; None when there is no such column or the value is null. ValueError if not text."""
    if key is None:
        return None
    value = _field(row, key)
    if value is _MISSING or value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{key} is {str(value).lower()}, not text")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if is_id:
            raise ValueError(f"{key} is a floating-point number, which may have lost digits; export ids as strings")
        return repr(value)
    example = f"{key}.{next(iter(value))}" if isinstance(value, Mapping) and value else f"{key}.<field>"
    raise ValueError(f"{key} holds a JSON {type(value).__name__}, not a value; name a field inside it, e.g. {example}")


def _required(row: Mapping[str, Any], key: str, *, is_id: bool = False) -> str:
    value = _as_text(row, key, is_id=is_id)
    if value is None or not value.strip():
        raise ValueError(f"{key} is {'missing' if _field(row, key) is _MISSING else 'empty'}")
    return value


def _language(value: str | None) -> str | None:
    """The primary language subtag ("en-US" -> "en"), the form the detector gives; None lets it detect."""
    tag = (value or "").strip().lower()
    found = _LANGUAGE_TAG.fullmatch(tag)
    if not found or tag == "und":
        return None
    return found[1]


def map_row(row: Mapping[str, Any], line: int, columns: Columns, platform: str) -> MentionIn | RowIssue:
    """Turn one parsed row (a CSV dict of strings or a JSON object) into a mention, or say why not."""
    try:
        native_id = _required(row, columns.id, is_id=True).strip()
    except ValueError as exc:
        return RowIssue(line, None, str(exc))
    try:
        if len(native_id) > MAX_ID_LENGTH:
            raise ValueError(f"{columns.id} is longer than {MAX_ID_LENGTH} characters")
        text = _required(row, columns.text)
        try:
            created_at = parse_time(_required(row, columns.time))
        except ValueError as exc:
            raise ValueError(f"{columns.time}: {exc}") from None
        handle = (_as_text(row, columns.author) or "").strip()
        if len(handle) > MAX_ID_LENGTH:
            raise ValueError(f"{columns.author} is longer than {MAX_ID_LENGTH} characters")
        url = (_as_text(row, columns.url) or "").strip()
        language = _language(_as_text(row, columns.language))
    except ValueError as exc:
        return RowIssue(line, native_id, str(exc))
    return MentionIn(
        platform=platform,
        native_id=native_id,
        text=text,
        created_at=created_at,
        url=url or None,
        author=AuthorIn(platform=platform, handle=handle) if handle else None,
        language=language,
        raw=dict(row),
    )


# --- files ------------------------------------------------------------------------------------


def detect_format(path: Path, options: ImportOptions) -> Format:
    if options.format:
        return options.format
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"{path}: cannot tell the format from the suffix {path.suffix or '(none)'!r}; "
            "pass --format csv or --format jsonl"
        )
    return fmt


def check_utf8(path: Path, *, chunk_size: int = 1 << 20) -> None:
    """Fail before anything is stored when the file is not UTF-8, naming the first bad line."""
    try:
        with path.open("rb") as handle:
            if handle.read(2) in (b"\xff\xfe", b"\xfe\xff"):
                raise InvalidInput(f"{path}: the file is UTF-16; save it as UTF-8 (in Excel: Save As, 'CSV UTF-8')")
            handle.seek(0)
            line, pending = 1, b""
            while True:
                chunk = handle.read(chunk_size)
                data = pending + chunk
                if not data:
                    return
                try:
                    data.decode("utf-8")
                    line, pending = line + data.count(b"\n"), b""
                except UnicodeDecodeError as exc:
                    if chunk and exc.reason == "unexpected end of data":  # a character split by the chunk
                        line, pending = line + data.count(b"\n", 0, exc.start), data[exc.start :]
                        continue
                    line += data.count(b"\n", 0, exc.start)
                    raise InvalidInput(
                        f"{path}: line {line} is not UTF-8 (byte 0x{data[exc.start]:02x}); "
                        "save the file as UTF-8 (in Excel: Save As, 'CSV UTF-8') and import it again"
                    ) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None


def iter_rows(path: Path, options: ImportOptions) -> Iterator[tuple[int, MentionIn | RowIssue]]:
    """Like `read_rows`, with the line each row starts on (what `import_file` reports)."""
    path = Path(path)
    fmt = detect_format(path, options)
    check_utf8(path)
    try:
        if fmt == "csv":
            yield from _csv_rows(path, options)
        else:
            yield from _jsonl_rows(path, options)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None


def read_rows(path: Path, options: ImportOptions) -> Iterator[MentionIn | RowIssue]:
    """Stream a file's data rows as mentions or, for rows that cannot be used, `RowIssue`s."""
    for _line, item in iter_rows(path, options):
        yield item


def _csv_rows(path: Path, options: ImportOptions) -> Iterator[tuple[int, MentionIn | RowIssue]]:
    # utf-8-sig drops the byte-order mark Excel writes; strict makes a broken quote a rejected row
    # instead of a field that silently swallows the lines after it. NUL characters are dropped
    # (PostgreSQL cannot store them).
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise InvalidInput(f"{path}: line 1: cannot read the header ({exc})") from None
        if not header:
            raise InvalidInput(f"{path}: the file is empty; it needs a header row naming its columns")
        header = [name.strip() for name in header]
        columns = resolve_columns(header, options, path)
        for key in (columns.id, columns.text, columns.time, columns.author, columns.url, columns.language):
            if key is not None and header.count(key) > 1:
                raise InvalidInput(f"{path}: the header names the column {key!r} more than once; rename all but one")
        end = reader.line_num
        while True:
            start = end + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                end = reader.line_num
                yield start, RowIssue(start, None, f"cannot read this CSV row ({exc}); check its quotes")
                continue
            end = reader.line_num
            if not values:
                continue  # blank line
            if any("\x00" in value for value in values):
                values = [value.replace("\x00", "") for value in values]
            if len(values) != len(header):
                issue = f"has {len(values)} fields but the header has {len(header)}; check the row's quotes and commas"
                yield start, RowIssue(start, None, issue)
                continue
            yield start, map_row(dict(zip(header, values, strict=True)), start, columns, options.platform)


def _without_nul(value: Any) -> Any:
    """PostgreSQL can store no NUL character in text or JSONB; it never means anything in a post."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _has_field(obj: Mapping[str, Any]) -> Callable[[str], bool]:
    return lambda name: _field(obj, name) is not _MISSING


def _jsonl_rows(path: Path, options: ImportOptions) -> Iterator[tuple[int, MentionIn | RowIssue]]:
    columns: Columns | None = None
    seen_content = False
    with path.open(encoding="utf-8-sig") as handle:
        for line, text in enumerate(handle, start=1):
            text = text.strip()
            if not text:
                continue
            if not seen_content:
                seen_content = True
                if text.startswith("[") or text == "{":
                    jq = "'.[]'" if text.startswith("[") else "."
                    raise InvalidInput(
                        f"{path}: this is one JSON document, not JSON lines (one object per line); "
                        f"convert it with: jq -c {jq} {path.name} > {path.stem}.jsonl"
                    )
            try:
                obj = json.loads(text)
                if "\\u0000" in text or "\x00" in text:
                    obj = _without_nul(obj)
            except json.JSONDecodeError as exc:
                yield line, RowIssue(line, None, f"not valid JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield line, RowIssue(line, None, f"a JSON {type(obj).__name__}, not an object")
                continue
            if columns is None:  # the first object stands for the file, as a CSV header does
                columns = resolve_columns(list(obj), options, path, has=_has_field(obj), sparse=True)
            yield line, map_row(obj, line, columns, options.platform)


# --- storing ----------------------------------------------------------------------------------


def import_file(
    db: Database,
    path: Path,
    options: ImportOptions,
    *,
    matcher: BrandMatcher | None = None,
    detect: Callable[[str], str | None] = detect_language,
    batch_size: int = 1000,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Store every usable row of a file once; report duplicates and rejects with their lines.

    Memory stays flat in the rows (they stream, `batch_size` at a time); the only thing kept for the
    whole file is each id's first line (about 130 bytes per distinct id), which is what lets a
    duplicate 900,000 lines later still say where its original is.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = ImportReport()
    first_line: dict[str, int] = {}
    batch: list[tuple[int, MentionIn]] = []
    stamp = utcnow()
    try:
        for line, item in iter_rows(path, options):
            report.rows += 1
            if isinstance(item, RowIssue):
                report.rejected.append(item)
                continue
            earlier = first_line.setdefault(item.native_id, line)
            if earlier != line:
                report.duplicates.append(RowIssue(line, item.native_id, f"duplicate of line {earlier}"))
                continue
            batch.append((line, item))
            if len(batch) >= batch_size:
                _store(db, batch, options.platform, report, matcher=matcher, detect=detect, now=stamp)
                batch = []
                if on_progress:
                    on_progress(report.rows)
        if batch:
            _store(db, batch, options.platform, report, matcher=matcher, detect=detect, now=stamp)
    except InvalidInput as exc:
        if report.inserted:
            raise InvalidInput(
                f"{exc} ({report.inserted} rows before it were stored; importing the fixed file again skips them)"
            ) from exc
        raise
    if on_progress:
        on_progress(report.rows)
    report.duplicates.sort(key=lambda issue: issue.line)
    return report


def _store(
    db: Database,
    batch: Sequence[tuple[int, MentionIn]],
    platform: str,
    report: ImportReport,
    *,
    matcher: BrandMatcher | None,
    detect: Callable[[str], str | None],
    now: datetime,
) -> None:
    """One transaction: skip ids already stored, enrich the rest, insert them."""
    with db.session() as session:
        stored = _stored_ids(session, platform, [m.native_id for _, m in batch])
        fresh = [(line, m) for line, m in batch if m.native_id not in stored]
        report.duplicates.extend(
            RowIssue(line, m.native_id, "already stored") for line, m in batch if m.native_id in stored
        )
        if not fresh:
            return
        mentions = enrich([m for _, m in fresh], matcher, detect=detect)
        result = store_batch(session, mentions, source_id=None, now=now)
        if result.inserted != len(fresh):
            # Another writer stored some of these between our SELECT and INSERT (ON CONFLICT DO NOTHING).
            ours = _native_ids_of(session, result.inserted_ids)
            report.duplicates.extend(
                RowIssue(line, m.native_id, "already stored") for line, m in fresh if m.native_id not in ours
            )
        report.inserted += result.inserted


def _stored_ids(session: Session, platform: str, native_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(native_ids), CHUNK):
        chunk = native_ids[start : start + CHUNK]
        query = sa.select(Mention.native_id).where(Mention.platform == platform, Mention.native_id.in_(chunk))
        found.update(session.scalars(query))
    return found


def _native_ids_of(session: Session, mention_ids: Sequence[int]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(mention_ids), CHUNK):
        chunk = mention_ids[start : start + CHUNK]
        found.update(session.scalars(sa.select(Mention.native_id).where(Mention.id.in_(chunk))))
    return found
