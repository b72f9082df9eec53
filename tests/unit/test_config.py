"""Configuration: precedence, secrets, and one clear message per mistake."""

from pathlib import Path

import pytest

from core.config import SECRET_KEYS, Settings, load_config
from core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_repo_config_is_valid_and_identical_to_the_packaged_template() -> None:
    settings = load_config(REPO / "config.yaml", env={})
    assert settings.brands and settings.sources
    assert (REPO / "config.yaml").read_text() == (REPO / "core" / "default_config.yaml").read_text()


def test_defaults_only_when_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_config(env={})
    assert settings.config_path is None
    assert settings.database.url == f"sqlite:///{tmp_path.resolve() / 'earful.db'}"


def test_sqlite_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    sub = tmp_path / "deploy"
    sub.mkdir()
    path = write(sub, "database:\n  url: sqlite:///data.db\n")
    assert load_config(path, env={}).database.url == f"sqlite:///{sub.resolve() / 'data.db'}"


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    path = write(tmp_path, "dashboard:\n  port: 9000\n")
    assert load_config(path, env={}).dashboard.port == 9000
    assert load_config(path, env={"EARFUL_DASHBOARD__PORT": "9100"}).dashboard.port == 9100
    assert load_config(path, env={"EARFUL_DASHBOARD__PORT": "9100"}, overrides={"dashboard.port": 9200}).dashboard.port == 9200


def test_earful_config_env_picks_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "dashboard:\n  port: 9300\n")
    assert load_config(env={"EARFUL_CONFIG": str(path)}).dashboard.port == 9300


@pytest.mark.parametrize(
    "text, expected",
    [
        ("dashbord:\n  port: 1\n", "dashbord: unknown key"),
        ("dashboard:\n  prot: 1\n", "dashboard.prot: unknown key"),
        ("dashboard:\n  port: eighty\n", "dashboard.port: Input should be a valid integer"),
        ("sources:\n  - {name: a, platform: rss, feeds: [notaurl]}\n", "sources[0].feeds[0]: "),
        ("sources:\n  - {name: a, platform: myspace}\n", "sources[0]: unknown platform"),
        ("sources:\n  - {name: a, platform: rss, feeds: ['https://x.test/f'], interval_seconds: soon}\n",
         "sources[0].interval_seconds: Input should be a valid integer"),
        ("sources:\n  - {name: a, platform: rss, feeds: ['https://x.test/f'], timeout_seconds: 0}\n",
         "sources[0].timeout_seconds: Input should be greater than 0"),
        ("brands:\n  - {name: A, queries: []}\n", "brands[0].queries"),
        ("sentiment:\n  max_topics: 11\n", "sentiment.max_topics: Input should be less than or equal to 10"),
        (f"sentiment:\n  topics: {{{'x' * 61}: too long a name}}\n  risk_topics: []\n",
         "sentiment.topics: Value error, topic names must be 1 to 60 characters"),
        ("sentiment:\n  topics: {late: {description: delayed, threshold: 2}}\n  risk_topics: []\n",
         "sentiment.topics.late.threshold: Input should be less than or equal to 1"),
        ("sentiment:\n  topics: {late: {description: delayed, examples: ['  ']}}\n  risk_topics: []\n",
         "sentiment.topics.late.examples: Value error, an empty example"),
        ("sentiment:\n  topics: {late: {examples: [where is my train]}}\n  risk_topics: []\n",
         "sentiment.topics.late.description: required key is missing"),
        ("sentiment:\n  topics: {late: {description: delayed, exemples: [x]}}\n  risk_topics: []\n",
         "sentiment.topics.late.exemples: unknown key"),
        ("database:\n  url: mysql://x/y\n", "database.url: "),
        ("sources:\n  - {name: a, platform: mastodon, access_token: '${NOT_SET_ANYWHERE}'}\n",
         "sources[0].access_token: environment variable NOT_SET_ANYWHERE is not set"),
        ("sources:\n  - {name: a, platform: mastodon, access_token: abc123}\n",
         "sources[0].access_token: a literal secret is not allowed"),
        ("database:\n  url: postgresql://u:hunter2@db/earful\n", "database.url: the URL holds a literal password"),
        ("- just\n- a list\n", "the top level must be a mapping"),
        ("brands: [\n", "not valid YAML at line"),
    ],
)
def test_each_mistake_names_the_key_and_the_file(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert expected in message
    assert str(path) in message


def test_unknown_earful_env_variable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="EARFUL_DASHBORD__PORT names no setting"):
        load_config(write(tmp_path, ""), env={"EARFUL_DASHBORD__PORT": "1"})


def test_secret_reference_resolves_and_is_masked(tmp_path: Path) -> None:
    from core.config import effective_config

    path = write(tmp_path, "sources:\n  - {name: a, platform: mastodon, access_token: '${MASTO_TOKEN}'}\n")
    settings = load_config(path, env={"MASTO_TOKEN": "s3cret-value"})
    assert settings.sources[0].access_token.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in str(effective_config(settings))


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, ""), env={})
    with pytest.raises(Exception):
        settings.dashboard.port = 1  # type: ignore[misc]


def test_every_secret_field_is_guarded_by_name() -> None:
    """A new SecretStr field whose name is not in SECRET_KEYS could be written literally."""
    from pydantic import SecretStr

    def walk(model: type) -> set[str]:
        names: set[str] = set()
        for name, field in model.model_fields.items():
            annotation = str(field.annotation)
            if "SecretStr" in annotation:
                names.add(name)
        return names

    from core import config

    secret_fields: set[str] = set()
    for cls in vars(config).values():
        if isinstance(cls, type) and issubclass(cls, config.Section):
            secret_fields |= walk(cls)
    assert secret_fields and secret_fields <= SECRET_KEYS
    assert SecretStr  # imported for the annotation check above


@pytest.mark.parametrize("text, env, shown", [
    # pydantic quotes the input of any key: a value that came from ${VAR} is shown as the reference
    ("dashboard:\n  port: '${PORT_VAR}'\n", {"PORT_VAR": "hidden-value-1"}, "(got '${PORT_VAR}')"),
    ("sources:\n  - {name: a, platform: discourse, base_url: 'ftp://${HOST_VAR}/x'}\n", {"HOST_VAR": "hidden-value-2"},
     "ftp://${HOST_VAR}/x"),
    ("database:\n  url: 'postgres://earful:${PGPW}@db/earful'\n", {"PGPW": "hidden-value-3"},
     "(got 'postgres://earful:${PGPW}@db/earful')"),
])
def test_errors_quote_the_reference_never_its_value(tmp_path: Path, text: str, env: dict[str, str], shown: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env=env)
    assert shown in str(info.value)
    assert not [v for v in env.values() if v in str(info.value)]


def test_an_overridden_url_loses_its_password_in_errors_and_output(tmp_path: Path) -> None:
    from core.config import effective_config

    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, ""), env={"EARFUL_DATABASE__URL": "mysql://u:hidden-pw@db/x"})
    assert "hidden-pw" not in str(info.value) and "mysql://u:***@db/x" in str(info.value)
    settings = load_config(write(tmp_path, ""), env={}, overrides={"database.url": "postgresql+psycopg://u:hidden-pw@db/x"})
    assert "hidden-pw" not in str(effective_config(settings))


def test_effective_config_shows_every_reference_as_written(tmp_path: Path) -> None:
    from core.config import effective_config

    path = write(tmp_path, "sources:\n  - {name: a, platform: reddit, client_id: '${RID}', username: 'u-${RUSER}'}\n")
    data = effective_config(load_config(path, env={"RID": "hidden-id", "RUSER": "hidden-user"}))
    assert data["sources"][0]["client_id"] == "${RID}" and data["sources"][0]["username"] == "u-${RUSER}"
    assert "hidden" not in str(data)


def test_a_topic_is_a_description_or_a_description_with_examples_and_threshold(tmp_path: Path) -> None:
    path = write(tmp_path, "sentiment:\n  topics:\n    outage: service down\n    lost luggage:\n"
                           "      description: bag missing, delayed or damaged\n"
                           "      examples: [my suitcase never came off the carousel]\n      threshold: 0.3\n"
                           "  risk_topics: [outage]\n")
    topics = load_config(path, env={}).sentiment.topics
    assert (topics["outage"].description, topics["outage"].examples, topics["outage"].threshold) == ("service down", (), None)
    luggage = topics["lost luggage"]
    assert luggage.examples == ("my suitcase never came off the carousel",) and luggage.threshold == 0.3
