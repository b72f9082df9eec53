from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from core.customers import customer_mentions, link_authors
from core.errors import InvalidInput, PermissionDenied
from core.mention import AuthorIn, MentionIn
from core.models import Author, AuditEntry, Customer
from core.store import store_batch
from core.users import add_user, operator, parse_role

T = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)


def post(platform: str, native_id: str, handle: str, domain: str | None = None) -> MentionIn:
    return MentionIn(platform, native_id, f"text {native_id}", T, author=AuthorIn(platform, handle, verified_domain=domain))


def test_authors_with_the_same_verified_domain_become_one_customer(db) -> None:
    with db.session() as s:
        store_batch(s, [post("bluesky", "b1", "jo.example.com", "jo.example.com")])
    with db.session() as s:
        store_batch(s, [post("mastodon", "m1", "@jo@social.example", "jo.example.com"), post("mastodon", "m2", "@other@x.example")])
    with db.session() as s:
        authors = {a.handle: a for a in s.scalars(sa.select(Author))}
        assert authors["jo.example.com"].customer_id == authors["@jo@social.example"].customer_id is not None
        assert authors["@other@x.example"].customer_id is None
        history = customer_mentions(s, authors["@jo@social.example"].id)
        assert sorted(m.native_id for m in history) == ["b1", "m1"]


def test_staff_link_merges_profiles_and_is_audited(db) -> None:
    with db.session() as s:
        store_batch(s, [post("x", "x1", "@jo"), post("reddit", "r1", "u/jo_travels"), post("hackernews", "h1", "jo")])
        agent = add_user(s, operator("test"), "ada", "correct horse", parse_role("agent"))
        viewer = add_user(s, operator("test"), "vic", "correct horse", parse_role("viewer"))
        with pytest.raises(PermissionDenied):
            link_authors(s, viewer, ["x:@jo", "reddit:u/jo_travels"])
        with pytest.raises(InvalidInput, match="PLATFORM:HANDLE"):
            link_authors(s, agent, ["@jo", "reddit:u/jo_travels"])
        first = link_authors(s, agent, ["x:@jo", "reddit:u/jo_travels"], name="Jo")
        link_authors(s, agent, ["hackernews:jo", "x:@jo"])
        assert s.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1
        x_author = s.scalar(sa.select(Author).where(Author.handle == "@jo"))
        assert x_author.customer_id == first.id
        assert sorted(m.platform for m in customer_mentions(s, x_author.id)) == ["hackernews", "reddit", "x"]
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "customer.link")) == 2
