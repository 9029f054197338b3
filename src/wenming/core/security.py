"""Password hashing (argon2), random secrets, and the hashing of bearer tokens and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile: 3 passes over 64 MiB).
_hasher = PasswordHasher()
_dummy_hashes: dict[int, str] = {}

MIN_PASSWORD_LENGTH = 8


def use_cheapest_password_hashing() -> None:
    """Switch this process to argon2's cheapest parameters: for test suites only.

    A test suite hashes and verifies thousands of passwords; at the real cost (about 0.1 s each)
    that alone would take minutes. Hashes stay argon2id and verification works as in production.
    """
    global _hasher
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher.hash(password)


def dummy_password_hash() -> str:
    """A hash with today's parameters to verify against when a username is unknown, so that
    known and unknown usernames cost the same time."""
    key = id(_hasher)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = _hasher.hash("not-a-real-password-only-for-timing")
    return _dummy_hashes[key]


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether the password matches; never raises for a wrong password or a damaged hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


def new_token(nbytes: int = 32) -> str:
    """A random URL-safe secret."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """The SHA-256 digest stored in place of a high-entropy token or key.

    Tokens and keys carry at least 256 random bits, so a fast digest is safe at rest and keeps
    the per-request lookup cheap; passwords, which are guessable, use argon2 instead.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret_key: str, message: str) -> str:
    """An HMAC-SHA256 signature of a message, hex encoded."""
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    """Compare two secrets without leaking where they differ."""
    return hmac.compare_digest(a.encode(), b.encode())


def mask_phone(phone: str | None) -> str | None:
    """A phone number with its middle digits hidden: 13812345678 -> 138****5678."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) < 8:
        return digits[:1] + "*" * (len(digits) - 3) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    """A personal name with all but its first character hidden: 王小明 -> 王**."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)
