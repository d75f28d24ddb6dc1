"""Password hashes for the dashboard's sign-in: scrypt from the standard library, salted per hash.

A hash reads ``scrypt:N:r:p:SALT:KEY`` (SALT and KEY in URL-safe base64 without padding), so it holds
no ``$``, ``,`` or quotes and can be pasted into an environment variable, a systemd unit, a compose
file or ``secrets.toml`` as it is. The cost parameters travel with each hash, so raising the defaults
later keeps old hashes valid. Verification compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from anomaly.errors import ConfigError

SCHEME = "scrypt"
# scrypt's recommended interactive cost (2**14, 8, 1): about 16 MiB and tens of milliseconds a try.
COST = 2**14
BLOCK_SIZE = 8
PARALLELISM = 1
SALT_BYTES = 16
KEY_BYTES = 32
# Memory scrypt may use: 128 * N * r bytes, with room for hashes made with a higher cost.
_MAX_MEMORY = 256 * 1024 * 1024


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _derive(password: str, salt: bytes, cost: int, block_size: int, parallelism: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=cost,
        r=block_size,
        p=parallelism,
        maxmem=_MAX_MEMORY,
        dklen=length,
    )


def hash_password(password: str) -> str:
    """A new salted hash of ``password``, in the ``scrypt:N:r:p:SALT:KEY`` form ``verify_password`` reads."""
    if not password:
        raise ConfigError("the password is empty")
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, COST, BLOCK_SIZE, PARALLELISM, KEY_BYTES)
    return f"{SCHEME}:{COST}:{BLOCK_SIZE}:{PARALLELISM}:{_encode(salt)}:{_encode(key)}"


def check_hash(encoded: str) -> None:
    """Raise ``ConfigError`` unless ``encoded`` is a hash this module made (so a typo in the
    configuration is reported when the dashboard starts, not as a failed sign-in)."""
    parts = encoded.strip().split(":")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ConfigError(
            "a dashboard password hash must look like 'scrypt:N:r:p:SALT:KEY' "
            "(make one with 'anomaly dashboard hash-password')"
        )
    try:
        cost, block_size, parallelism = (int(part) for part in parts[1:4])
        salt, key = _decode(parts[4]), _decode(parts[5])
    except ValueError:
        raise ConfigError("a dashboard password hash has a malformed number or base64 part") from None
    if cost < 2 or cost & (cost - 1) or block_size < 1 or parallelism < 1 or not salt or not key:
        raise ConfigError("a dashboard password hash has invalid scrypt parameters")
    if 128 * cost * block_size >= _MAX_MEMORY:
        raise ConfigError("a dashboard password hash asks scrypt for more than 256 MiB")


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``; raises ``ConfigError`` for a malformed hash."""
    check_hash(encoded)
    _, cost, block_size, parallelism, salt, key = encoded.strip().split(":")
    expected = _decode(key)
    actual = _derive(password, _decode(salt), int(cost), int(block_size), int(parallelism), len(expected))
    return hmac.compare_digest(actual, expected)
