"""The `earful` command as a user runs it: a real process, real files, real exit codes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def earful(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], cwd=cwd, env=full_env, input=stdin,
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    "text, key",
    [
        ("dashboard:\n  prot: 8501\n", "dashboard.prot: unknown key"),
        ("dashboard:\n  port: lots\n", "dashboard.port: Input should be a valid integer"),
        ("sources:\n  - {name: m, platform: mastodon, access_token: '${EARFUL_TEST_MISSING_VAR}'}\n",
         "sources[0].access_token: environment variable EARFUL_TEST_MISSING_VAR is not set"),
    ],
)
def test_bad_config_exits_2_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    (tmp_path / "config.yaml").write_text(text)
    result = earful("config", "check", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert key in result.stderr
    assert "config.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_writes_a_config_that_checks(tmp_path: Path) -> None:
    result = earful("init", str(tmp_path / "site"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    config = tmp_path / "site" / "config.yaml"
    assert config.read_text() == (REPO / "config.yaml").read_text()
    again = earful("init", str(tmp_path / "site"), cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    check = earful("config", "check", "--json", cwd=tmp_path / "site")
    assert check.returncode == 0, check.stderr
    effective = json.loads(check.stdout)
    # the default SQLite file sits beside the config it came from
    assert effective["database"]["url"] == f"sqlite:///{(tmp_path / 'site' / 'earful.db').resolve()}"


def test_config_check_masks_secrets(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("sources:\n  - {name: m, platform: mastodon, access_token: '${MY_TOKEN}'}\n")
    result = earful("config", "check", cwd=tmp_path, env={"MY_TOKEN": "very-secret-token"})
    assert result.returncode == 0, result.stderr
    assert "very-secret-token" not in result.stdout + result.stderr
    assert "access_token: ${MY_TOKEN}" in result.stdout  # what the file says, not the value


@pytest.mark.parametrize("url, hint", [
    ("postgres://earful:${PGPW}@db.example/earful", "postgres:// is an old spelling"),
    ("postgresql+psycopg2://earful:${PGPW}@db.example/earful", "the driver 'psycopg2' is not supported"),
    ("postgresql+psycopg2x://earful:${PGPW}@db.example/earful", "the driver 'psycopg2x' is not supported"),
    ("mysql://earful:${PGPW}@db.example/earful", "the database 'mysql' is not supported"),
    ("sqlite+aiosqlite:///e.db", "the SQLite driver 'aiosqlite' is not supported"),
])
def test_an_unsupported_database_url_gets_the_spelling_to_use(tmp_path: Path, url: str, hint: str) -> None:
    (tmp_path / "config.yaml").write_text(f"database:\n  url: '{url}'\n")
    result = earful("config", "check", cwd=tmp_path, env={"PGPW": "pg-password-81f2"})
    assert result.returncode == 2, result.stdout
    assert hint in result.stderr
    assert "use postgresql+psycopg://" in result.stderr or "use sqlite:///" in result.stderr
    assert "pg-password-81f2" not in result.stdout + result.stderr
    if "${PGPW}" in url:
        assert "${PGPW}" in result.stderr  # the URL as the file writes it


def test_config_check_connect_reports_the_sqlite_version_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  url: sqlite:///e.db\n")
    fresh = earful("config", "check", "--connect", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert "database driver sqlite3" in fresh.stderr and "does not exist yet" in fresh.stderr
    assert not (tmp_path / "e.db").exists()
    assert earful("db", "upgrade", cwd=tmp_path).returncode == 0
    upgraded = earful("config", "check", "--connect", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database: SQLite 3." in upgraded.stderr and "(the newest)" in upgraded.stderr


def test_config_check_connect_says_why_it_cannot_connect_without_the_password(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "database:\n  url: 'postgresql+psycopg://earful:${PGPW}@127.0.0.1:9/earful'\n")  # nothing listens on 9
    result = earful("config", "check", "--connect", cwd=tmp_path, env={"PGPW": "pg-password-81f2"})
    assert result.returncode == 1
    assert "configuration OK" in result.stderr and "database driver psycopg" in result.stderr
    assert "cannot connect to the PostgreSQL database" in result.stderr and "Connection refused" in result.stderr
    assert "pg-password-81f2" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not os.environ.get("EARFUL_TEST_POSTGRES_URL"), reason="EARFUL_TEST_POSTGRES_URL is not set")
def test_config_check_connect_reports_the_postgresql_version(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(f"database:\n  url: '{os.environ['EARFUL_TEST_POSTGRES_URL']}'\n")
    result = earful("config", "check", "--connect", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database: PostgreSQL " in result.stderr and "schema at revision" in result.stderr


def test_env_and_flag_override_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("dashboard:\n  port: 9000\n")
    env_result = earful("config", "check", "--json", cwd=tmp_path, env={"EARFUL_DASHBOARD__PORT": "9100"})
    assert json.loads(env_result.stdout)["dashboard"]["port"] == 9100
    flag_result = earful("--database-url", "sqlite:///other.db", "config", "check", "--json", cwd=tmp_path)
    assert json.loads(flag_result.stdout)["database"]["url"].endswith("/other.db")


def test_users_and_stats(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  url: sqlite:///e.db\n")
    added = earful("users", "add", "ada", "--role", "agent", "--name", "Ada", cwd=tmp_path, env={"EARFUL_NEW_PASSWORD": "correct horse"})
    assert added.returncode == 0, added.stderr
    dup = earful("users", "add", "ada", cwd=tmp_path, env={"EARFUL_NEW_PASSWORD": "correct horse"})
    assert dup.returncode == 2 and "exists already" in dup.stderr
    short = earful("users", "add", "bob", cwd=tmp_path, env={"EARFUL_NEW_PASSWORD": "short"})
    assert short.returncode == 2 and "too short" in short.stderr
    bad_role = earful("users", "set-role", "ada", "boss", cwd=tmp_path)
    assert bad_role.returncode == 2 and "unknown role 'boss'" in bad_role.stderr
    assert earful("users", "set-role", "ada", "manager", cwd=tmp_path).returncode == 0
    assert earful("users", "set-team", "ada", "senior", cwd=tmp_path).returncode == 0
    listed = json.loads(earful("users", "list", "--json", cwd=tmp_path).stdout)
    assert [(u["username"], u["role"], u["team"]) for u in listed] == [("ada", "manager", "senior")]
    assert earful("users", "set-team", "nobody", "care", cwd=tmp_path).returncode == 2
    stats = earful("stats", "--json", cwd=tmp_path)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout) == {
        "mentions": 0, "scored": 0,
        "cases": {"new": 0, "open": 0, "pending": 0, "closed": 0},
        "replies": {"draft": 0, "approved": 0, "sending": 0, "sent": 0, "failed": 0, "verify": 0},
        "alerts": 0,
    }


def test_outbox_lists_as_json_and_an_unknown_state_exits_2_naming_the_states(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  url: sqlite:///e.db\n")
    empty = earful("outbox", "--state", "failed", "--json", cwd=tmp_path)
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout) == []
    bad = earful("outbox", "--state", "lost", cwd=tmp_path)
    assert bad.returncode == 2, bad.stderr
    assert "unknown state 'lost'; use one of draft, approved, sending, sent, failed, verify" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_users_act_as_the_operator_or_a_named_admin_and_deactivate_leavers(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  url: sqlite:///e.db\n")
    pw = {"EARFUL_NEW_PASSWORD": "correct horse"}
    assert earful("users", "add", "root", "--role", "admin", cwd=tmp_path, env=pw).returncode == 0
    assert earful("users", "add", "ada", "--as", "root", cwd=tmp_path, env=pw).returncode == 0
    refused = earful("users", "set-role", "ada", "admin", "--as", "ada", cwd=tmp_path)
    assert refused.returncode == 1 and "ada may not change roles: it needs the role admin" in refused.stderr
    assert earful("users", "set-password", "ada", "--as", "ada", cwd=tmp_path, env=pw).returncode == 0  # their own
    other = earful("users", "set-password", "root", "--as", "ada", cwd=tmp_path, env=pw)
    assert other.returncode == 1 and "may not set another user's password" in other.stderr
    last = earful("users", "deactivate", "root", cwd=tmp_path)
    assert last.returncode == 2 and "root is the last active admin" in last.stderr
    demote = earful("users", "set-role", "root", "agent", cwd=tmp_path)
    assert demote.returncode == 2 and "last active admin" in demote.stderr
    assert earful("users", "deactivate", "ada", "--as", "root", cwd=tmp_path).returncode == 0
    listed = {u["username"]: u["active"] for u in json.loads(earful("users", "list", "--json", cwd=tmp_path).stdout)}
    assert listed == {"ada": False, "root": True}
    inactive = earful("users", "add", "bob", "--as", "ada", cwd=tmp_path, env=pw)
    assert inactive.returncode == 1 and "ada may not add users" in inactive.stderr
    assert earful("users", "reactivate", "ada", cwd=tmp_path).returncode == 0

    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'e.db'}")
    with engine.connect() as connection:
        trail = [tuple(r) for r in connection.execute(sa.text(
            "SELECT actor, action FROM audit_log WHERE action LIKE 'user.%' ORDER BY id"))]
    engine.dispose()
    assert trail == [("cli", "user.add"), ("root", "user.add"), ("ada", "user.set_password"),
                     ("root", "user.deactivate"), ("cli", "user.reactivate")]


def test_db_downgrade_and_upgrade_commands(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  url: sqlite:///e.db\n")
    assert "current: None" in earful("db", "current", cwd=tmp_path).stdout
    assert earful("db", "upgrade", cwd=tmp_path).returncode == 0
    current = earful("db", "current", cwd=tmp_path).stdout.split()  # "current: R  head: R"
    assert current[0] == "current:" and current[1] == current[3] and current[1] != "None"
    assert earful("db", "downgrade", "base", cwd=tmp_path).returncode == 0
    assert "current: None" in earful("db", "current", cwd=tmp_path).stdout


def test_import_reports_duplicates_and_rejections_with_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  url: sqlite:///e.db\n")
    (tmp_path / "export.csv").write_text(
        "tweet_id,text,tweet_created\n"
        "1,first,2/24/2015 11:35\n"
        "2,,2/24/2015 11:36\n"
        "1,first again,2/24/2015 11:37\n"
        "3,third,Tue 24 Feb 2015 11:38:00 +0000\n"
        "4,fourth,31/31/2015\n"
    )
    args = ("import", "export.csv", "--id-col", "tweet_id", "--time-col", "tweet_created", "--json")
    result = earful(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["rows"], report["inserted"]) == (5, 2)
    assert [(d["line"], d["reason"]) for d in report["duplicates"]] == [(4, "duplicate of line 2")]
    assert [r["line"] for r in report["rejected"]] == [3, 6]
    assert "text is empty" in report["rejected"][0]["reason"]
    missing = earful("import", "export.csv", "--text-col", "body", cwd=tmp_path)
    assert missing.returncode == 2 and "body" in missing.stderr and "--text-col" in missing.stderr


def test_an_unreachable_postgresql_is_one_clear_line_without_the_password(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database:\n  url: postgresql+psycopg://earful:${PGPASSWORD}@127.0.0.1:1/earful\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")} | {"PGPASSWORD": "s3cret-pw"}
    done = subprocess.run([sys.executable, "-m", "core.cli", "--config", str(config), "stats"], capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 1, done.stderr
    assert "cannot reach the PostgreSQL database" in done.stderr and "database.url" in done.stderr
    assert "Traceback" not in done.stderr and "s3cret-pw" not in done.stderr + done.stdout
