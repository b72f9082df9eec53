"""Parsing of exported files: times, CSV quirks, JSON lines, and the errors a person sees."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.mention import MentionIn
from listener.fileimport import ImportOptions, RowIssue, check_utf8, iter_rows, parse_time, read_rows

UTC = timezone.utc
MOMENT = datetime(2015, 2, 24, 11, 35, 52, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-02-24T11:35:52Z", MOMENT),
        ("2015-02-24T11:35:52z", MOMENT),
        ("  2015-02-24T11:35:52Z\n", MOMENT),
        ("2015-02-24T11:35:52", MOMENT),  # naive: UTC
        ("2015-02-24 11:35:52", MOMENT),
        ("2015-02-24T11:35:52.123Z", MOMENT.replace(microsecond=123000)),
        ("2015-02-24T11:35:52.123456789Z", MOMENT.replace(microsecond=123456)),
        ("2015-02-24T17:05:52+05:30", MOMENT),
        ("2015-02-24T03:35:52-0800", MOMENT),
        ("2015-02-24T11:35:52+00", MOMENT),
        ("20150224T113552Z", MOMENT),
        ("2015-02-24", datetime(2015, 2, 24, tzinfo=UTC)),
        ("2015-02-24 03:35:52 -0800", MOMENT),  # Twitter US Airline Sentiment: tweet_created
        ("2015-02-24 11:35:52 UTC", MOMENT),  # BigQuery CSV export
        ("2015-02-24 11:35:52.5 UTC", MOMENT.replace(microsecond=500000)),
        ("Tue, 24 Feb 2015 03:35:52 -0800", MOMENT),  # RFC 2822 (RSS, e-mail)
        ("Tue, 24 Feb 2015 11:35:52 GMT", MOMENT),
        ("24 Feb 2015 11:35:52 +0000", MOMENT),
        ("Tue, 24 Feb 2015 11:35:52 -0000", MOMENT),
        ("Tue Feb 24 11:35:52 +0000 2015", MOMENT),  # Twitter API v1.1 / tweets.js
        ("2/24/2015 11:35", MOMENT.replace(second=0)),  # spreadsheets, US month/day
        ("02/24/2015 11:35:52", MOMENT),
        ("2/24/2015 11:35:52 AM", MOMENT),
        ("2/24/2015 1:35 PM", datetime(2015, 2, 24, 13, 35, tzinfo=UTC)),
        ("2/24/2015", datetime(2015, 2, 24, tzinfo=UTC)),
        ("2/24/15 11:35", MOMENT.replace(second=0)),  # Excel's default US short format
        ("1424777752", MOMENT),  # epoch seconds
        ("1424777752.25", MOMENT.replace(microsecond=250000)),
        ("1424777752000", MOMENT),  # epoch milliseconds
        ("1424777752000000", MOMENT),  # epoch microseconds
    ],
)
def test_parse_time_reads_the_formats_exports_use(value: str, expected: datetime) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "31/31/2020",
        "2/30/2015 11:35",
        "2/24/2015 25:00",
        "13/13/2015",
        "24.02.2015",
        "2015",  # a year, not an epoch time
        "20150224",  # a compact date, not an epoch time
        "-1424777752",
        "1e9",
        "nan",
        "yesterday",
        "Feb 24",
        "11:35",
        "2015-02-30",
        "2015-13-01",
        "2015-02-24x11:35",
        "2015-02-24T11:35:52 PST",
        "Tue, 24 Feb 2015 11:35:52 XYZ",
        "Tue, 32 Feb 2015 11:35:52 +0000",
        "1424777752000000000000",
    ],
)
def test_parse_time_rejects_what_it_would_have_to_guess(value: str) -> None:
    with pytest.raises(ValueError):
        parse_time(value)


def test_parse_time_error_says_which_formats_work() -> None:
    with pytest.raises(ValueError) as error:
        parse_time("31/31/2020")
    assert str(error.value) == (
        "cannot read '31/31/2020' as a time; use ISO 8601, RFC 2822, M/D/YYYY H:MM or epoch seconds"
    )


def test_parse_time_points_out_day_month_order() -> None:
    with pytest.raises(ValueError, match="looks like day/month"):
        parse_time("24/2/2015 11:35")


# --- CSV ---------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def numbered(path: Path, options: ImportOptions | None = None) -> list[tuple[int, MentionIn | RowIssue]]:
    return list(iter_rows(path, options or ImportOptions()))


def test_csv_row_becomes_a_mention_with_its_raw_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.csv",
        "id,text,created_at,author,url,language,extra\n"
        "t1,Love the new app,2015-02-24T11:35:52Z,@ann,https://x.test/1,en-US,kept\n",
    )
    [mention] = read_rows(path, ImportOptions(platform="x"))
    assert isinstance(mention, MentionIn)
    assert (mention.platform, mention.native_id, mention.text) == ("x", "t1", "Love the new app")
    assert mention.created_at == MOMENT
    assert mention.author is not None and (mention.author.platform, mention.author.handle) == ("x", "@ann")
    assert mention.url == "https://x.test/1"
    assert mention.language == "en"
    assert mention.raw == {
        "id": "t1",
        "text": "Love the new app",
        "created_at": "2015-02-24T11:35:52Z",
        "author": "@ann",
        "url": "https://x.test/1",
        "language": "en-US",
        "extra": "kept",
    }


def test_csv_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbfid,text,created_at\r\n1,hi,2015-02-24T11:35:52Z\r\n")
    [mention] = read_rows(path, ImportOptions())
    assert isinstance(mention, MentionIn) and mention.native_id == "1"
    assert list(mention.raw) == ["id", "text", "created_at"]


def test_csv_line_numbers_count_from_the_header_and_point_at_the_row_start(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "multi.csv",
        "id,text,created_at\n"  # line 1
        '1,"first line\nsecond line\nthird",2015-02-24T11:35:52Z\n'  # lines 2-4
        "\n"  # line 5, blank: skipped
        "2,,2015-02-24T11:35:52Z\n"  # line 6: empty text
        '3,"a ""quoted"" word",31/31/2020\n'  # line 7: bad time
        ",no id,2015-02-24T11:35:52Z\n"  # line 8
        "4,fine,2015-02-24T11:35:52Z\n",  # line 9
    )
    rows = numbered(path)
    assert [line for line, _ in rows] == [2, 6, 7, 8, 9]
    first = rows[0][1]
    assert isinstance(first, MentionIn) and first.text == "first line\nsecond line\nthird"
    assert rows[1][1] == RowIssue(6, "2", "text is empty")
    assert rows[2][1] == RowIssue(
        7,
        "3",
        "created_at: cannot read '31/31/2020' as a time; use ISO 8601, RFC 2822, M/D/YYYY H:MM or epoch seconds",
    )
    assert rows[3][1] == RowIssue(8, None, "id is empty")
    assert isinstance(rows[4][1], MentionIn)
    assert str(rows[1][1]) == "line 6: text is empty"


def test_csv_broken_quotes_reject_the_row_not_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "quotes.csv",
        "id,text,created_at\n"
        '1,"ab"c,2015-02-24T11:35:52Z\n'  # line 2: text after a closing quote
        "2,one,two,2015-02-24T11:35:52Z\n"  # line 3: one field too many
        "3,ok,2015-02-24T11:35:52Z\n"  # line 4
        '4,"never closed,2015-02-24T11:35:52Z\n'  # line 5 to the end
        "5,swallowed,2015-02-24T11:35:52Z\n",
    )
    rows = numbered(path)
    assert [line for line, _ in rows] == [2, 3, 4, 5]
    assert isinstance(rows[0][1], RowIssue) and "check its quotes" in rows[0][1].reason
    assert isinstance(rows[1][1], RowIssue) and "has 4 fields but the header has 3" in rows[1][1].reason
    assert isinstance(rows[2][1], MentionIn)
    assert isinstance(rows[3][1], RowIssue) and "unexpected end of data" in rows[3][1].reason


def test_csv_missing_required_column_fails_at_once_naming_the_flag(tmp_path: Path) -> None:
    path = write(tmp_path, "airline.csv", "tweet_id,airline,tweet_text,tweet_created\n1,x,hi,2015-02-24\n")
    with pytest.raises(InvalidInput) as error:
        list(read_rows(path, ImportOptions(id_col="tweet_id", time_col="tweet_created")))
    message = str(error.value)
    assert "no column 'text'" in message
    assert "--text-col" in message
    assert "did you mean --text-col tweet_text?" in message
    assert "tweet_id, airline, tweet_text, tweet_created" in message


def test_csv_every_missing_column_is_named_together(tmp_path: Path) -> None:
    path = write(tmp_path, "few.csv", "body\nhi\n")
    with pytest.raises(InvalidInput) as error:
        list(read_rows(path, ImportOptions()))
    message = str(error.value)
    assert "--id-col" in message and "--text-col" in message and "--time-col" in message


def test_csv_with_semicolons_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "excel_de.csv", "id;text;created_at\n1;hi;2015-02-24\n")
    with pytest.raises(InvalidInput, match="may use ';' or tabs"):
        list(read_rows(path, ImportOptions()))


def test_csv_optional_columns_may_be_absent_unless_named_on_purpose(tmp_path: Path) -> None:
    path = write(tmp_path, "min.csv", "id,text,created_at\n1,hi,2015-02-24T11:35:52Z\n")
    [mention] = read_rows(path, ImportOptions())
    assert isinstance(mention, MentionIn)
    assert (mention.author, mention.url, mention.language) == (None, None, None)
    with pytest.raises(InvalidInput, match="--author-col"):
        list(read_rows(path, ImportOptions(author_col="screen_name")))


def test_csv_header_names_match_regardless_of_case_and_padding(tmp_path: Path) -> None:
    path = write(tmp_path, "caps.csv", "ID , Text,Created_At,Author\n1,hi,2015-02-24T11:35:52Z,ann\n")
    [mention] = read_rows(path, ImportOptions())
    assert isinstance(mention, MentionIn) and mention.text == "hi" and mention.author is not None


def test_csv_column_named_twice_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "twice.csv", "id,text,created_at,text\n1,a,2015-02-24,b\n")
    with pytest.raises(InvalidInput, match="more than once"):
        list(read_rows(path, ImportOptions()))


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        list(read_rows(write(tmp_path, "empty.csv", ""), ImportOptions()))


def test_language_column_is_reduced_to_the_primary_tag(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "lang.csv",
        "id,text,created_at,language\n1,a,2015-02-24,EN_gb\n2,b,2015-02-24,und\n3,c,2015-02-24,English!\n",
    )
    languages = [m.language for m in read_rows(path, ImportOptions()) if isinstance(m, MentionIn)]
    assert languages == ["en", None, None]


# --- encodings, formats and files ---------------------------------------------------------------


def test_latin1_file_is_refused_before_any_row_naming_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "latin.csv", "id,text,created_at\n1,ok,2015-02-24\n2,caf\xe9,2015-02-24\n".encode("latin-1"))
    with pytest.raises(InvalidInput) as error:
        next(iter(read_rows(path, ImportOptions())))
    assert "line 3 is not UTF-8" in str(error.value) and "CSV UTF-8" in str(error.value)


def test_utf16_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "u16.csv", "id,text,created_at\n".encode("utf-16"))
    with pytest.raises(InvalidInput, match="UTF-16"):
        list(read_rows(path, ImportOptions()))


def test_utf8_check_handles_characters_split_across_chunks(tmp_path: Path) -> None:
    path = write(tmp_path, "split.csv", "a\n" + "é€😀\n" * 50 + "b\n")
    check_utf8(path, chunk_size=3)  # every multi-byte character straddles some chunk boundary
    bad = write(tmp_path, "bad.csv", ("é€\n" * 4).encode() + b"x\xff\n")
    with pytest.raises(InvalidInput, match="line 5 is not UTF-8"):
        check_utf8(bad, chunk_size=3)


def test_unknown_suffix_asks_for_format_and_format_overrides_suffix(tmp_path: Path) -> None:
    path = write(tmp_path, "export.txt", "id,text,created_at\n1,hi,2015-02-24\n")
    with pytest.raises(InvalidInput, match="--format csv or --format jsonl"):
        list(read_rows(path, ImportOptions()))
    assert len(list(read_rows(path, ImportOptions(format="csv")))) == 1


def test_missing_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        list(read_rows(tmp_path / "nope.csv", ImportOptions()))


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [({"platform": "myspace"}, "--platform"), ({"format": "xlsx"}, "--format"), ({"text_col": ""}, "--text-col")],
)
def test_options_validate_themselves(kwargs: dict[str, str], flag: str) -> None:
    with pytest.raises(InvalidInput, match=flag):
        ImportOptions(**kwargs)  # type: ignore[arg-type]


# --- JSON lines ---------------------------------------------------------------------------------


def test_jsonl_bad_line_is_a_rejected_row_and_the_rest_lands(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.jsonl",
        '{"id": "1", "text": "hi", "created_at": "2015-02-24T11:35:52Z"}\n'  # line 1
        "\n"  # line 2, blank
        '{"id": "2", "text": "oops" "created_at": 1}\n'  # line 3
        "[1, 2]\n"  # line 4
        '{"id": 3, "text": "epoch number", "created_at": 1424777752}\n'  # line 5
        '{"id": "4", "created_at": "2015-02-24"}\n',  # line 6
    )
    rows = numbered(path)
    assert [line for line, _ in rows] == [1, 3, 4, 5, 6]
    assert isinstance(rows[0][1], MentionIn)
    assert isinstance(rows[1][1], RowIssue) and rows[1][1].reason.startswith("not valid JSON")
    assert rows[2][1] == RowIssue(4, None, "a JSON list, not an object")
    third = rows[3][1]
    assert isinstance(third, MentionIn) and third.native_id == "3" and third.created_at == MOMENT
    assert third.raw == {"id": 3, "text": "epoch number", "created_at": 1424777752}
    assert rows[4][1] == RowIssue(6, "4", "text is missing")


def test_jsonl_reads_nested_fields_by_dotted_name(tmp_path: Path) -> None:
    tweet = (
        '{"id": 570000000000000000, "id_str": "570000000000000000", "full_text": "hi @united",'
        ' "created_at": "Tue Feb 24 11:35:52 +0000 2015", "user": {"screen_name": "ann", "id": 7}}\n'
    )
    path = write(tmp_path, "tweets.ndjson", tweet)
    options = ImportOptions(platform="x", id_col="id_str", text_col="full_text", author_col="user.screen_name")
    [mention] = read_rows(path, options)
    assert isinstance(mention, MentionIn)
    assert mention.native_id == "570000000000000000"
    assert mention.author is not None and mention.author.handle == "ann"
    with pytest.raises(InvalidInput, match="--text-col"):
        list(read_rows(path, ImportOptions(platform="x", id_col="id_str", text_col="retweeted_status.full_text")))


def test_jsonl_optional_fields_left_out_of_the_first_object_are_read_later(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sparse.jsonl",
        '{"id": "1", "text": "a", "created_at": "2015-02-24"}\n'
        '{"id": "2", "text": "b", "created_at": "2015-02-24", "url": "https://x.test/2", "author": "bo"}\n',
    )
    first, second = read_rows(path, ImportOptions())
    assert isinstance(first, MentionIn) and first.url is None and first.author is None
    assert isinstance(second, MentionIn) and second.url == "https://x.test/2" and second.author is not None


def test_nul_characters_are_dropped(tmp_path: Path) -> None:
    csv_path = write(tmp_path, "nul.csv", "id,text,created_at\n1,a\x00b,2015-02-24\n")
    jsonl_path = write(
        tmp_path, "nul.jsonl", '{"id": "1", "text": "a\\u0000b", "created_at": "2015-02-24", "x": ["\\u0000"]}\n'
    )
    [from_csv] = read_rows(csv_path, ImportOptions())
    [from_jsonl] = read_rows(jsonl_path, ImportOptions())
    assert isinstance(from_csv, MentionIn) and from_csv.text == "ab" and from_csv.raw["text"] == "ab"
    assert isinstance(from_jsonl, MentionIn) and from_jsonl.text == "ab" and from_jsonl.raw["x"] == [""]


def test_jsonl_values_that_are_not_text_are_rejected_with_a_hint(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "odd.jsonl",
        '{"id": "1", "text": "a", "created_at": "2015-02-24", "author": {"handle": "ann"}}\n'
        '{"id": 1.5e17, "text": "b", "created_at": "2015-02-24"}\n',
    )
    first, second = read_rows(path, ImportOptions())
    assert isinstance(first, RowIssue) and "author.handle" in first.reason
    assert isinstance(second, RowIssue) and "export ids as strings" in second.reason


def test_jsonl_missing_required_key_in_the_first_object_fails_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", '{"id": "1", "body": "hi", "created_at": "2015-02-24"}\n')
    with pytest.raises(InvalidInput) as error:
        list(read_rows(path, ImportOptions()))
    assert "no column 'text'" in str(error.value) and "--text-col" in str(error.value) and "body" in str(error.value)


@pytest.mark.parametrize("content", ['[{"id": "1"}]\n', '{\n  "id": "1"\n}\n'])
def test_a_single_json_document_is_refused_with_a_conversion_hint(tmp_path: Path, content: str) -> None:
    with pytest.raises(InvalidInput, match="jq -c"):
        list(read_rows(write(tmp_path, "dump.json", content), ImportOptions()))
