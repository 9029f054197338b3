"""Password hashing, token digests, signatures and the masking of personal data."""

from __future__ import annotations

import hashlib

import pytest

from wenming.core import security


def test_passwords_are_argon2id_and_verify_only_themselves() -> None:
    stored = security.hash_password("correct-horse")
    assert stored.startswith("$argon2id$")
    assert "correct-horse" not in stored
    assert security.verify_password(stored, "correct-horse")
    assert not security.verify_password(stored, "correct-horse ")
    assert security.hash_password("correct-horse") != stored


@pytest.mark.parametrize("damaged", ["", "not-a-hash", "$argon2id$v=19$m=8,t=1,p=1$broken"])
def test_a_damaged_hash_never_raises(damaged: str) -> None:
    assert security.verify_password(damaged, "anything") is False


def test_the_dummy_hash_uses_todays_parameters() -> None:
    dummy = security.dummy_password_hash()
    assert dummy == security.dummy_password_hash()
    assert not security.password_needs_rehash(dummy)
    assert not security.verify_password(dummy, "")


def test_token_digest_is_sha256_hex() -> None:
    token = security.new_token()
    assert len(token) == 43
    assert security.token_digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert security.new_token() != token


def test_signatures() -> None:
    signature = security.sign("secret", "message")
    assert len(signature) == 64
    assert security.constant_time_equal(signature, security.sign("secret", "message"))
    assert not security.constant_time_equal(signature, security.sign("other", "message"))
    assert not security.constant_time_equal(signature, security.sign("secret", "massage"))


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        (" 13812345678 ", "138****5678"),
        ("+8613812345678", "+86*******5678"),
        ("0427-1234567", "042*****4567"),
        ("1234567", "1****67"),
        ("12345", "1**45"),
        ("1234", "****"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_phone(phone: str | None, masked: str | None) -> None:
    assert security.mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("name", "masked"), [("王小明", "王**"), ("李", "李"), ("", ""), (None, None)]
)
def test_mask_name(name: str | None, masked: str | None) -> None:
    assert security.mask_name(name) == masked
