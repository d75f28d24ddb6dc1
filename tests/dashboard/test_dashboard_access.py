"""Password hashes and the sign-in rules: who may change verdicts, under which configuration."""

from __future__ import annotations

import pytest

from anomaly.errors import ConfigError
from dashboard import passwords
from dashboard.access import (
    PASSWORD_HASH_VARIABLE,
    USERS_VARIABLE,
    AccessConfig,
    access_config,
    authenticate,
    parse_users,
)


@pytest.fixture(scope="module")
def alice_hash() -> str:
    return passwords.hash_password("correct horse")


@pytest.fixture(scope="module")
def team_hash() -> str:
    return passwords.hash_password("team battery")


def test_a_hash_verifies_its_password_only(alice_hash: str) -> None:
    assert passwords.verify_password("correct horse", alice_hash)
    assert not passwords.verify_password("correct horsE", alice_hash)
    assert not passwords.verify_password("", alice_hash)


def test_hashes_are_salted_and_safe_to_paste_into_a_variable(alice_hash: str) -> None:
    again = passwords.hash_password("correct horse")
    assert again != alice_hash
    scheme, cost, block_size, parallelism, salt, key = alice_hash.split(":")
    assert (scheme, int(cost), int(block_size), int(parallelism)) == ("scrypt", 2**14, 8, 1)
    assert len(passwords._decode(salt)) == passwords.SALT_BYTES
    assert len(passwords._decode(key)) == passwords.KEY_BYTES
    assert not set(alice_hash) & set("$,'\" ")


def test_cost_parameters_travel_with_the_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "COST", 2**10)
    cheap = passwords.hash_password("pw")
    monkeypatch.undo()
    assert cheap.split(":")[1] == "1024"
    assert passwords.verify_password("pw", cheap)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "bcrypt:16384:8:1:c2FsdA:a2V5",
        "scrypt:16384:8:1:c2FsdA",
        "scrypt:abc:8:1:c2FsdA:a2V5",
        "scrypt:1000:8:1:c2FsdA:a2V5",
        "scrypt:16384:8:1::a2V5",
        "scrypt:16384:8:1:c2FsdA:a2V5!",
        "scrypt:1048576:8:1:c2FsdA:a2V5",
    ],
)
def test_malformed_hashes_are_configuration_errors(encoded: str) -> None:
    with pytest.raises(ConfigError):
        passwords.verify_password("pw", encoded)


def test_an_empty_password_gets_no_hash() -> None:
    with pytest.raises(ConfigError, match="empty"):
        passwords.hash_password("")


def test_users_list_parses_names_and_checks_each_hash(alice_hash: str, team_hash: str) -> None:
    users = parse_users(f" alice:{alice_hash} , bob smith:{team_hash},")
    assert users == {"alice": alice_hash, "bob smith": team_hash}
    assert parse_users({"alice": alice_hash}) == {"alice": alice_hash}
    with pytest.raises(ConfigError, match="no ':HASH'"):
        parse_users("alice")
    with pytest.raises(ConfigError, match="twice"):
        parse_users(f"alice:{alice_hash},alice:{team_hash}")
    with pytest.raises(ConfigError, match="usable name"):
        parse_users(f":{alice_hash}")
    with pytest.raises(ConfigError, match="scrypt:N:r:p"):
        parse_users("alice:hunter2")


def test_environment_wins_over_secrets_and_auth_names_providers(alice_hash: str, team_hash: str) -> None:
    secrets = {
        PASSWORD_HASH_VARIABLE: alice_hash,
        USERS_VARIABLE: {"carol": alice_hash},
        "auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "client_id": "x", "okta": {}},
    }
    config = access_config({PASSWORD_HASH_VARIABLE: team_hash}, secrets)
    assert config.team_hash == team_hash
    assert config.users == {"carol": alice_hash}
    assert config.oidc_providers == (None, "okta")
    assert config.passwords and config.enabled
    nothing = access_config({}, {})
    assert nothing == AccessConfig() and not nothing.enabled
    with pytest.raises(ConfigError, match="names no provider"):
        access_config({}, {"auth": {"cookie_secret": "s"}})
    with pytest.raises(ConfigError):
        access_config({PASSWORD_HASH_VARIABLE: "plain text"}, {})


def test_listed_users_need_their_own_password_others_the_team_one(alice_hash: str, team_hash: str) -> None:
    config = AccessConfig(users={"alice": alice_hash}, team_hash=team_hash)
    assert authenticate(config, " alice ", "correct horse") == "alice"
    assert authenticate(config, "alice", "team battery") is None
    assert authenticate(config, "dave", "team battery") == "dave"
    assert authenticate(config, "dave", "correct horse") is None
    assert authenticate(config, "   ", "team battery") is None
    assert authenticate(config, "x" * 257, "team battery") is None
    assert authenticate(config, "new\nline", "team battery") is None
    users_only = AccessConfig(users={"alice": alice_hash})
    assert authenticate(users_only, "dave", "correct horse") is None
    assert authenticate(AccessConfig(), "alice", "correct horse") is None
