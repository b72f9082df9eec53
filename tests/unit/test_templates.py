"""responder.templates: placeholders in saved replies, parsed without eval and rendered strictly."""

from __future__ import annotations

import pytest

from core.config import SavedReply
from core.errors import ConfigError, InvalidInput
from responder.templates import (
    STANDARD_PLACEHOLDERS,
    check_saved_replies,
    check_template,
    known_placeholders,
    placeholders,
    render,
    saved_replies_for,
    template_values,
)

FIELDS = {"support_url": "https://help.skylark.example", "hours": "9-17"}
KNOWN = known_placeholders(FIELDS)


def values(**overrides: object) -> dict[str, str]:
    given: dict[str, object] = {
        "author_name": "Jo Bloggs",
        "author_handle": "@jo",
        "brand": "Skylark Air",
        "case_id": 42,
        "agent_name": "Sam",
        "platform": "x",
        "fields": FIELDS,
    }
    given.update(overrides)
    return template_values(**given)  # type: ignore[arg-type]


# --- parsing ------------------------------------------------------------------------------------


def test_placeholders() -> None:
    assert placeholders("Hi {author_name}, see {support_url}. {author_name}!") == {"author_name", "support_url"}
    assert placeholders("no placeholders") == set()
    assert placeholders("braces {{like this}} are text") == set()


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("Hi {author.name}", "not a placeholder"),
        ("Hi {author[0]}", "not a placeholder"),
        ("Hi {}", "not a placeholder"),
        ("Hi {0}", "not a placeholder"),
        ("Hi {author_name!r}", r"formatting after the name; write \{author_name\} alone"),
        ("Hi {author_name:>20}", "formatting after the name"),
        ("Hi {author_name:{brand}}", "formatting after the name"),
        ("Hi {author_name", "brace that opens or closes nothing"),
        ("Hi author_name}", "brace that opens or closes nothing"),
        ("Hi { author_name }", "not a placeholder"),
    ],
)
def test_malformed_templates_are_refused(template: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        placeholders(template)


def test_check_template_names_the_unknown_and_lists_the_known() -> None:
    check_template("Hi {author_name}, see {support_url}", KNOWN)
    with pytest.raises(InvalidInput) as refused:
        check_template("Hi {author_name}, see {supprt_url}", KNOWN)
    message = str(refused.value)
    assert message.startswith("the placeholder {supprt_url} is unknown; use one of {agent_name}, {author_handle}")
    assert "{support_url}" in message and "responder.fields" in message


def test_check_template_with_several_unknown() -> None:
    with pytest.raises(InvalidInput, match=r"the placeholders \{a\}, \{b\} are unknown"):
        check_template("{b} {a}", STANDARD_PLACEHOLDERS)


# --- rendering ----------------------------------------------------------------------------------


def test_render_fills_every_placeholder() -> None:
    text = "Hi {author_name} ({author_handle}), {agent_name} from {brand} on {platform} here. Case {case_id}: {support_url}"
    assert render(text, values()) == (
        "Hi Jo Bloggs (@jo), Sam from Skylark Air on X here. Case 42: https://help.skylark.example"
    )


def test_render_keeps_escaped_braces_and_does_not_reinterpret_values() -> None:
    assert render("{{author_name}} is {author_name}", {"author_name": "{brand}"}) == "{author_name} is {brand}"


def test_render_refuses_a_placeholder_without_a_value() -> None:
    with pytest.raises(InvalidInput) as refused:
        render("Hi {author_name}, see {docs_url}", values())
    assert str(refused.value).startswith("{docs_url} has no value for this reply; write the text in place of it")
    assert "{author_name}" in str(refused.value)


def test_render_treats_blank_values_as_missing() -> None:
    with pytest.raises(InvalidInput, match=r"\{brand\} has no value"):
        render("Thanks from {brand}", {"brand": "  "})


def test_render_names_every_missing_placeholder() -> None:
    with pytest.raises(InvalidInput, match=r"\{a\}, \{b\} have no value for this reply; write the text in place of them"):
        render("{a}{b}", {})


def test_render_without_placeholders() -> None:
    assert render("Thanks!", {}) == "Thanks!"


# --- values -------------------------------------------------------------------------------------


def test_template_values() -> None:
    assert values() == {
        "author_name": "Jo Bloggs",
        "author_handle": "@jo",
        "brand": "Skylark Air",
        "case_id": "42",
        "agent_name": "Sam",
        "platform": "X",
        "support_url": "https://help.skylark.example",
        "hours": "9-17",
    }


@pytest.mark.parametrize("missing_name", [None, "", "   "])
def test_missing_author_name_falls_back_to_the_handle(missing_name: str | None) -> None:
    assert values(author_name=missing_name, author_handle="@jo@mastodon.social")["author_name"] == "@jo@mastodon.social"


def test_missing_values_are_left_out_so_render_refuses_them() -> None:
    bare = template_values(platform="hackernews")
    assert bare == {"platform": "Hacker News"}
    with pytest.raises(InvalidInput, match=r"\{author_name\} has no value"):
        render("Hi {author_name}", bare)


def test_standard_values_win_over_a_custom_field_of_the_same_name() -> None:
    assert values(fields={"brand": "Other", "hours": "9-17"})["brand"] == "Skylark Air"


# --- saved replies ------------------------------------------------------------------------------

SAVED = (
    SavedReply(name="thanks", text="Thanks {author_name}!"),
    SavedReply(name="dm", text="Please DM us, {author_name}.", platforms=("x", "mastodon")),
    SavedReply(name="forum", text="See {support_url}", platforms=("discourse",)),
)


def test_saved_replies_for_a_platform() -> None:
    assert [r.name for r in saved_replies_for("x", SAVED)] == ["thanks", "dm"]
    assert [r.name for r in saved_replies_for("discourse", SAVED)] == ["thanks", "forum"]
    assert [r.name for r in saved_replies_for("reddit", SAVED)] == ["thanks"]
    assert saved_replies_for("x", ()) == []


def test_check_saved_replies() -> None:
    check_saved_replies(SAVED, FIELDS)
    with pytest.raises(ConfigError, match=r"responder.saved_replies\[2\].text: saved reply 'forum': the placeholder"):
        check_saved_replies(SAVED, {})
