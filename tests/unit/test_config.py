"""Settings from the environment and a TOML file; bad values fail with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rooms.ratelimit import Rate
from server.config import ConfigError, load


def test_defaults_give_a_single_node_on_loopback(tmp_path: Path) -> None:
    settings = load({"TWINROOMS_DATA_DIR": str(tmp_path)})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.origins == ["http://127.0.0.1:8080"]
    assert settings.rate_chat == Rate(20, 10)
    assert settings.max_sockets_per_user == 10
    assert settings.database_path == tmp_path.resolve() / "twinrooms.sqlite3"


def test_the_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load({"TWINROOMS_DATA_DIR": str(tmp_path)}).secret_key
    again = load({"TWINROOMS_DATA_DIR": str(tmp_path)}).secret_key
    assert first == again and len(first) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_a_wildcard_host_is_reached_through_localhost(tmp_path: Path) -> None:
    settings = load({"TWINROOMS_DATA_DIR": str(tmp_path), "TWINROOMS_HOST": "0.0.0.0"})
    assert settings.public_url == "http://localhost:8080"


def test_metrics_are_off_unless_a_token_is_set(tmp_path: Path) -> None:
    assert load({"TWINROOMS_DATA_DIR": str(tmp_path)}).metrics_token == ""
    token = "t" * 32
    env = {"TWINROOMS_DATA_DIR": str(tmp_path), "TWINROOMS_METRICS_TOKEN": token}
    assert load(env).metrics_token == token


def test_https_public_url_makes_cookies_secure(tmp_path: Path) -> None:
    env = {"TWINROOMS_DATA_DIR": str(tmp_path), "TWINROOMS_PUBLIC_URL": "https://rooms.school.eu/"}
    settings = load(env)
    assert settings.secure_cookies and settings.origins == ["https://rooms.school.eu"]


def test_the_environment_wins_over_the_toml_file(tmp_path: Path) -> None:
    toml = tmp_path / "twinrooms.toml"
    toml.write_text('port = 9000\nsignup = "closed"\nallowed_origins = "http://a.test"\n')
    env = {
        "TWINROOMS_DATA_DIR": str(tmp_path),
        "TWINROOMS_CONFIG": str(toml),
        "TWINROOMS_PORT": "9100",
    }
    settings = load(env)
    assert settings.port == 9100 and settings.signup == "closed"
    assert settings.allowed_origins == ("http://a.test",)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PORT", "eighty", "TWINROOMS_PORT"),
        ("SIGNUP", "maybe", "one of open, closed"),
        ("RATE_LOGIN", "ten", "N/S"),
        ("ICE_SERVERS", "[1]", "TWINROOMS_ICE_SERVERS"),
        ("MAX_UPLOAD_BYTES", "0", "at least 1"),
        ("TRASH_DAYS", "-1", "TWINROOMS_TRASH_DAYS must be a number of days"),
        ("TRASH_DAYS", "nan", "TWINROOMS_TRASH_DAYS must be a number of days"),
        ("TRASH_DAYS", "a month", "TWINROOMS_TRASH_DAYS"),
        ("MAX_SOCKETS_PER_USER", "0", "at least 1"),
        ("RATE_EVENTS", "0", "above 0"),
        ("RATE_EVENTS", "inf", "above 0"),
        ("SESSION_CHECK_SECONDS", "0", "above 0"),
        ("SECRET_KEY", "short", "at least 32"),
        ("METRICS_TOKEN", "short", "at least 32"),
        ("NO_SUCH_THING", "1", "unknown setting"),
        ("S3_PREFIX", "node/", "need TWINROOMS_S3_BUCKET"),
        ("S3_PATH_STYLE", "sometimes", "TWINROOMS_S3_PATH_STYLE"),
    ],
)
def test_a_bad_value_fails_with_one_clear_line(
    tmp_path: Path, name: str, value: str, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"TWINROOMS_DATA_DIR": str(tmp_path), f"TWINROOMS_{name}": value})
    assert says in str(caught.value) and "\n" not in str(caught.value)


PG = "postgresql://u:p@127.0.0.1:5432/db"
KEY = "k" * 32


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({}, "needs a postgresql://"),
        ({"TWINROOMS_DATABASE_URL": "sqlite:///x.db"}, "needs a postgresql://"),
        ({"TWINROOMS_DATABASE_URL": PG}, "needs TWINROOMS_S3_BUCKET"),
        ({"TWINROOMS_DATABASE_URL": PG, "TWINROOMS_S3_BUCKET": "b"}, "SECRET_KEY is required"),
        (
            {
                "TWINROOMS_DATABASE_URL": PG,
                "TWINROOMS_SECRET_KEY": KEY,
                "TWINROOMS_REDIS_URL": "http://x",
            },
            "must start with redis://",
        ),
    ],
)
def test_cluster_mode_refuses_node_local_data_and_a_generated_key(
    tmp_path: Path, extra: dict[str, str], says: str
) -> None:
    env = {
        "TWINROOMS_DATA_DIR": str(tmp_path),
        "TWINROOMS_REDIS_URL": "redis://127.0.0.1:1",
        **extra,
    }
    with pytest.raises(ConfigError) as caught:
        load(env)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_cluster_settings_and_a_node_id_unique_per_process(tmp_path: Path) -> None:
    env = {
        "TWINROOMS_DATA_DIR": str(tmp_path),
        "TWINROOMS_REDIS_URL": "redis://:pw@127.0.0.1:6379/0",
        "TWINROOMS_DATABASE_URL": PG,
        "TWINROOMS_SECRET_KEY": KEY,
        "TWINROOMS_S3_BUCKET": "school-files",
        "TWINROOMS_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
    }
    first, second = load(env), load(env)
    assert first.clustered and first.node_id != second.node_id
    assert [str(n) for n in first.trusted_proxies] == ["10.0.0.0/8", "127.0.0.1/32"]
    assert load({**env, "TWINROOMS_NODE_ID": "node-a"}).node_id == "node-a"
    assert not load({"TWINROOMS_DATA_DIR": str(tmp_path)}).clustered


@pytest.mark.parametrize(
    ("name", "value"), [("TRUSTED_PROXIES", "10.0.0.0/33"), ("NODE_ID", "a b"), ("NODE_ID", "")]
)
def test_bad_cluster_values_fail_with_one_line(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"TWINROOMS_DATA_DIR": str(tmp_path), f"TWINROOMS_{name}": value})
    assert "is not valid" in str(caught.value) and "\n" not in str(caught.value)


def test_the_s3_settings_choose_a_bucket(tmp_path: Path) -> None:
    settings = load(
        {
            "TWINROOMS_DATA_DIR": str(tmp_path),
            "TWINROOMS_S3_BUCKET": "school-files",
            "TWINROOMS_S3_ENDPOINT": "https://s3.example.eu",
            "TWINROOMS_S3_REGION": "eu-central-1",
            "TWINROOMS_S3_PREFIX": "twinrooms/",
            "TWINROOMS_S3_PATH_STYLE": "true",
        }
    )
    assert (settings.s3_bucket, settings.s3_endpoint) == ("school-files", "https://s3.example.eu")
    assert (settings.s3_region, settings.s3_prefix) == ("eu-central-1", "twinrooms/")
    assert settings.s3_path_style
    with pytest.raises(ConfigError, match="S3_ENDPOINT must be an http"):
        load(
            {
                "TWINROOMS_DATA_DIR": str(tmp_path),
                "TWINROOMS_S3_BUCKET": "b",
                "TWINROOMS_S3_ENDPOINT": "s3.example.eu",
            }
        )
