"""A scripted Source for poller tests: each fetch pops the next scripted answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from listener.base import Batch


@dataclass
class ScriptedSource:
    name: str = "scripted"
    platform: str = "mastodon"
    script: list[Batch | Exception] = field(default_factory=list)
    seen_cursors: list[dict[str, str]] = field(default_factory=list)
    closed: bool = False

    def fetch(self, cursors: Mapping[str, str]) -> Batch:
        self.seen_cursors.append(dict(cursors))
        step = self.script.pop(0) if self.script else Batch([])
        if isinstance(step, Exception):
            raise step
        return step

    def close(self) -> None:
        self.closed = True
