"""Tracking codes: printable, of fixed length, uniform over the alphabet."""

from __future__ import annotations

import secrets

import pytest

from wenming.cases import service
from wenming.cases.service import CODE_ALPHABET, CODE_LENGTH, new_code


def test_codes_use_only_the_alphabet_and_differ() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) for code in codes)


def test_bytes_that_would_bias_the_alphabet_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    # 31 letters: bytes 248-255 would give the first eight letters one more chance each.
    draws = iter([bytes([255, 248, 0, 30, 31, 247] + [1] * 18), bytes([2] * 24)])
    monkeypatch.setattr(secrets, "token_bytes", lambda size: next(draws))
    assert len(CODE_ALPHABET) == 31
    expected = (
        CODE_ALPHABET[0]
        + CODE_ALPHABET[30]
        + CODE_ALPHABET[0]
        + CODE_ALPHABET[247 % 31]
        + CODE_ALPHABET[1] * 8
    )
    assert service.new_code() == expected
