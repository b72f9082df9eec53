from pathlib import Path

import sqlalchemy as sa

from core.catalog import sync_from_config
from core.config import load_config
from core.models import Source


def test_sources_are_mirrored_without_secrets_and_removed_ones_disabled(db, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "sources:\n"
        "  - {name: m, platform: mastodon, access_token: '${TOKEN}', interval_seconds: 30}\n"
        "  - {name: hn, platform: hackernews}\n"
    )
    with db.session() as s:
        sync_from_config(s, load_config(path, env={"TOKEN": "s3cret"}))
    path.write_text("sources:\n  - {name: m, platform: mastodon, access_token: '${TOKEN}'}\n")
    with db.session() as s:
        sync_from_config(s, load_config(path, env={"TOKEN": "s3cret"}))
        rows = {r.name: r for r in s.scalars(sa.select(Source))}
        assert "access_token" not in rows["m"].settings and "s3cret" not in str(rows["m"].settings)
        assert rows["m"].enabled and not rows["hn"].enabled
