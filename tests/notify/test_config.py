"""The notification settings: a webhook URL must be HTTP(S), and production signs every call."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wenming.core.config import ConfigurationError, Environment, Settings, configuration_problem

GOOD_SECRET = "k" * 48
HOOK = "https://sms-gateway.example.gov.cn/wenming"


def test_defaults_keep_notifications_in_the_inbox() -> None:
    settings = Settings(env=Environment.TEST, _env_file=None)  # type: ignore[call-arg]
    assert (
        settings.notify_webhook_url,
        settings.notify_webhook_secret,
        settings.notify_webhook_timeout_seconds,
        settings.notify_webhook_max_attempts,
        settings.notify_delivery_interval_seconds,
        settings.periodic_tasks_enabled,
    ) == (None, "", 5.0, 8, 15.0, None)


def test_production_refuses_an_unsigned_webhook() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings(env=Environment.PRODUCTION, secret_key=GOOD_SECRET, notify_webhook_url=HOOK)
    assert str(refused.value) == (
        "WENMING_NOTIFY_WEBHOOK_URL is set but WENMING_NOTIFY_WEBHOOK_SECRET is empty; "
        "production signs every webhook call. Set WENMING_NOTIFY_WEBHOOK_SECRET to the secret "
        "the gateway checks (e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or clear the URL."
    )
    signed = Settings(
        env=Environment.PRODUCTION,
        secret_key=GOOD_SECRET,
        notify_webhook_url=HOOK,
        notify_webhook_secret="shared-with-the-gateway",
    )
    assert configuration_problem(signed) is None
    inbox_only = Settings(env=Environment.PRODUCTION, secret_key=GOOD_SECRET)
    assert configuration_problem(inbox_only) is None


def test_development_allows_an_unsigned_webhook() -> None:
    settings = Settings(env=Environment.DEVELOPMENT, notify_webhook_url="http://127.0.0.1:9000/")
    assert configuration_problem(settings) is None


@pytest.mark.parametrize("url", ["ftp://gateway/", "gateway.example/hook", "javascript:alert(1)"])
def test_a_webhook_url_must_be_http(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(env=Environment.TEST, notify_webhook_url=url)
    assert refused.value.errors()[0]["msg"] == (
        "Value error, give an http:// or https:// URL, or leave it empty"
    )


def test_an_empty_webhook_url_means_none() -> None:
    assert Settings(env=Environment.TEST, notify_webhook_url="  ").notify_webhook_url is None
