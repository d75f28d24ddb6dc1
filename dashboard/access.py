"""Who may change verdicts: the dashboard's configured sign-in methods, and the password check.

Anyone who reaches the dashboard may look; confirming, dismissing or reopening an anomaly needs a
signed-in analyst, whose name is stored with the verdict. Either method, or both:

- Passwords. ``ANOMALY_DASHBOARD_USERS="alice:HASH,bob:HASH"`` gives each analyst a password of their
  own (the name is the one listed); ``ANOMALY_DASHBOARD_PASSWORD_HASH="HASH"`` is one team password,
  with which an analyst signs in under a name they type (for teams that trust each other's names). A
  listed name only ever signs in with its own password. Each variable may also be a key of the same
  name in Streamlit's ``secrets.toml`` (``ANOMALY_DASHBOARD_USERS`` there also as a table of name =
  hash); the environment wins. Hashes come from ``anomaly dashboard hash-password``.
- OIDC: an ``[auth]`` section in ``secrets.toml``, served by Streamlit's ``st.login``.

With neither, the dashboard is read-only. Kept free of Streamlit, so the rules are tested directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from anomaly.errors import ConfigError
from dashboard.passwords import check_hash, hash_password, verify_password

USERS_VARIABLE = "ANOMALY_DASHBOARD_USERS"
PASSWORD_HASH_VARIABLE = "ANOMALY_DASHBOARD_PASSWORD_HASH"
# The width of ``anomalies.verdict_by``.
MAX_NAME_LENGTH = 256


@dataclass(frozen=True)
class AccessConfig:
    """The sign-in methods in force: named users' hashes, a team password's hash, OIDC providers.

    ``oidc_providers`` holds the names to pass to ``st.login``: ``None`` for a provider configured in
    ``[auth]`` itself, a name for each ``[auth.NAME]`` section.
    """

    users: Mapping[str, str] = field(default_factory=dict)
    team_hash: str | None = None
    oidc_providers: tuple[str | None, ...] = ()

    @property
    def passwords(self) -> bool:
        """Whether the password form is offered."""
        return bool(self.users) or self.team_hash is not None

    @property
    def enabled(self) -> bool:
        """Whether anyone can sign in at all; if not, the dashboard is read-only for everyone."""
        return self.passwords or bool(self.oidc_providers)


def parse_users(value: str | Mapping[str, Any]) -> dict[str, str]:
    """Named users from ``"alice:HASH,bob:HASH"`` (or a secrets table of name = hash), hashes checked."""
    if isinstance(value, Mapping):
        entries = [(str(name), str(encoded)) for name, encoded in value.items()]
    else:
        entries = []
        for entry in filter(None, (part.strip() for part in value.split(","))):
            name, separator, encoded = entry.partition(":")
            if not separator:
                raise ConfigError(f"{USERS_VARIABLE}: entry {name!r} has no ':HASH' after the name")
            entries.append((name, encoded))
    users: dict[str, str] = {}
    for name, encoded in entries:
        name = name.strip()
        if not _valid_name(name):
            raise ConfigError(
                f"{USERS_VARIABLE}: {name!r} is not a usable name (1 to {MAX_NAME_LENGTH} "
                "printable characters)"
            )
        if name in users:
            raise ConfigError(f"{USERS_VARIABLE}: {name!r} is listed twice")
        check_hash(encoded)
        users[name] = encoded.strip()
    return users


def _oidc_providers(auth: Any) -> tuple[str | None, ...]:
    if not auth:
        return ()
    if not isinstance(auth, Mapping):
        raise ConfigError("[auth] in secrets.toml must be a table")
    named = tuple(name for name, value in auth.items() if isinstance(value, Mapping))
    providers = ((None,) if "client_id" in auth else ()) + named
    if not providers:
        raise ConfigError(
            "[auth] in secrets.toml names no provider: add client_id, client_secret and "
            "server_metadata_url to it, or an [auth.NAME] section per provider"
        )
    return providers


def access_config(environ: Mapping[str, str], secrets: Mapping[str, Any]) -> AccessConfig:
    """The sign-in methods that ``environ`` (the process environment) and ``secrets`` (Streamlit's
    secrets, ``{}`` when there are none) configure; raises ``ConfigError`` on a malformed entry."""

    def setting(name: str) -> Any:
        return environ.get(name) or secrets.get(name) or None

    users = setting(USERS_VARIABLE)
    team_hash = setting(PASSWORD_HASH_VARIABLE)
    if team_hash is not None:
        check_hash(str(team_hash))
    return AccessConfig(
        users=parse_users(users) if users else {},
        team_hash=None if team_hash is None else str(team_hash).strip(),
        oidc_providers=_oidc_providers(secrets.get("auth")),
    )


def _valid_name(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME_LENGTH and name.isprintable()


@cache
def _decoy_hash() -> str:
    return hash_password("a password no one has")


def authenticate(config: AccessConfig, name: str, password: str) -> str | None:
    """The name to record for ``name`` signing in with ``password``, or None when they do not match.

    A listed user must give their own password; any other name the team password. Every attempt
    costs one scrypt derivation, so the answer's timing does not tell which names are listed.
    """
    name = name.strip()
    encoded = config.users.get(name, config.team_hash)
    if encoded is None or not _valid_name(name):
        verify_password(password, _decoy_hash())
        return None
    return name if verify_password(password, encoded) else None
