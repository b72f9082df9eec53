"""Conditions from config (`When`) evaluated against plain facts about a case or a reply.

Assignment rules, SLA policies and approval rules all say "when these hold". Evaluating them is pure:
the caller gathers `Facts` from the database once and asks here, so the rules are tested with
hand-made facts and the same reading applies everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence, TypeVar

from core.config import When


@dataclass(frozen=True, slots=True)
class Facts:
    urgency: float = 0.0
    reach: int = 0  # the author's followers
    platform: str = ""
    brands: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()
    intent: str | None = None
    sentiment: str | None = None
    agent_team: str | None = None  # the agent writing a reply (approval rules only)


def holds(when: When, facts: Facts) -> bool:
    """Every key given in `when` must hold; lists mean "any of these"."""
    if when.urgency_at_least is not None and facts.urgency < when.urgency_at_least:
        return False
    if when.reach_at_least is not None and facts.reach < when.reach_at_least:
        return False
    if when.platforms and facts.platform not in when.platforms:
        return False
    if when.brands and not facts.brands.intersection(when.brands):
        return False
    if when.topics and not facts.topics.intersection(when.topics):
        return False
    if when.intents and facts.intent not in when.intents:
        return False
    if when.sentiments and facts.sentiment not in when.sentiments:
        return False
    if when.agent_teams and facts.agent_team not in when.agent_teams:
        return False
    return True


T = TypeVar("T")


def first_match(items: Sequence[T], facts: Facts, when_of: Callable[[T], When]) -> T | None:
    """The first item whose condition holds (config order is priority order)."""
    for item in items:
        if holds(when_of(item), facts):
            return item
    return None


def any_holds(conditions: Iterable[When], facts: Facts) -> bool:
    return any(holds(w, facts) for w in conditions)


def merge(a: Facts, b: Facts) -> Facts:
    """Facts of a case: the most urgent and widest reach of its mentions, every brand and topic."""
    return Facts(
        urgency=max(a.urgency, b.urgency),
        reach=max(a.reach, b.reach),
        platform=b.platform or a.platform,
        brands=a.brands | b.brands,
        topics=a.topics | b.topics,
        intent=b.intent or a.intent,
        sentiment=b.sentiment or a.sentiment,
        agent_team=b.agent_team or a.agent_team,
    )
