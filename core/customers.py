"""Customer profiles: one person known through authors on several platforms.

Two ways link authors: automatically, when the platforms verified the same domain for them (a
Bluesky domain handle, a Mastodon profile link with verified_at), and by staff, who know that
`@jo` on X and `u/jo_travels` on Reddit are the same customer. A customer's history across every
platform is then one query (`customer_mentions`).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core.errors import InvalidInput
from core.mention import PLATFORMS
from core.models import Author, Customer, Mention, Role, User
from core.users import require


def parse_author_ref(ref: str) -> tuple[str, str]:
    platform, sep, handle = ref.partition(":")
    if not sep or platform not in PLATFORMS or not handle:
        raise InvalidInput(f"{ref!r} is not PLATFORM:HANDLE (for example mastodon:@jo@social.example or x:@jo)")
    return platform, handle


def find_author(session: Session, platform: str, handle: str) -> Author:
    author = session.scalar(
        sa.select(Author).where(Author.platform == platform, sa.or_(Author.handle == handle, Author.key == handle))
    )
    if author is None:
        raise InvalidInput(f"no author {handle!r} on {platform} has been collected yet")
    return author


def _merge_into(session: Session, authors: Sequence[Author], name: str | None) -> Customer:
    """Give all `authors` one customer: the oldest existing one, merging any others into it."""
    existing = sorted({a.customer_id for a in authors if a.customer_id is not None})
    if existing:
        customer = session.get(Customer, existing[0])
        assert customer is not None
        for other in existing[1:]:
            session.execute(sa.update(Author).where(Author.customer_id == other).values(customer_id=customer.id))
            session.execute(sa.delete(Customer).where(Customer.id == other))
    else:
        customer = Customer(display_name=name or authors[0].name or authors[0].handle)
        session.add(customer)
        session.flush()
    for author in authors:
        author.customer_id = customer.id
    return customer


def link_authors(session: Session, actor: User, refs: Sequence[str], *, name: str | None = None) -> Customer:
    """Staff say these authors are one person (agents and above)."""
    require(actor, Role.agent, "link customer profiles")
    if len(refs) < 2:
        raise InvalidInput("name at least two authors to link")
    authors = [find_author(session, *parse_author_ref(ref)) for ref in refs]
    customer = _merge_into(session, authors, name)
    audit.record(session, actor.username, "customer.link", target_type="customer", target_id=customer.id,
                 details={"authors": [f"{a.platform}:{a.handle}" for a in authors]})
    return customer


def link_verified(session: Session, domains: Iterable[str]) -> int:
    """Link every author sharing one of `domains` (called by the store after new authors land)."""
    linked = 0
    for domain in sorted(set(domains)):
        authors = list(session.scalars(sa.select(Author).where(Author.verified_domain == domain).order_by(Author.id)))
        customer_ids = {a.customer_id for a in authors}
        if len(authors) > 1 and (len(customer_ids) > 1 or None in customer_ids):
            _merge_into(session, authors, None)
            linked += 1
    return linked


def customer_mentions(session: Session, author_id: int, *, limit: int = 200) -> list[Mention]:
    """Everything this person said, on every platform, newest first."""
    author = session.get(Author, author_id)
    if author is None:
        raise InvalidInput(f"no author with id {author_id}")
    if author.customer_id is None:
        where = Mention.author_id == author_id
    else:
        where = Mention.author_id.in_(sa.select(Author.id).where(Author.customer_id == author.customer_id))
    return list(session.scalars(sa.select(Mention).where(where).order_by(Mention.created_at.desc()).limit(limit)))
