"""Operational alerts' pure parts: where their messages go, what they say, and how they are told
apart from spikes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from core import ops_alerts
from core.config import AlertsConfig
from core.models import Alert, AlertStatus

AT = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def config(**operational: object) -> AlertsConfig:
    return AlertsConfig.model_validate({
        "channels": [{"name": n, "type": "webhook", "webhook_url": f"https://hooks.example/{n}"} for n in ("ops", "care", "pr")],
        "operational": operational,
    })


def test_every_channel_by_default_the_named_ones_otherwise_never_the_broken_one() -> None:
    assert ops_alerts.channels_for(config(), "auth_failed", "source:x") == ("ops", "care", "pr")
    assert ops_alerts.channels_for(config(channels=["ops"]), "auth_failed", "source:x") == ("ops",)
    assert ops_alerts.channels_for(config(), "channel_failing", "channel:care") == ("ops", "pr")
    assert ops_alerts.channels_for(config(channels=["ops"]), "channel_failing", "channel:ops") == ()
    assert ops_alerts.channels_for(AlertsConfig(), "over_budget", "source:x") == ()


def test_an_unknown_operational_channel_is_a_config_error_naming_it() -> None:
    with pytest.raises(ValidationError, match=r"operational.channels: \['pager'\] are not among alerts.channels"):
        config(channels=["pager"])


def test_the_message_says_what_broke_what_to_do_and_how_to_acknowledge() -> None:
    alert = Alert(id=7, kind="auth_failed", subject="source:masto", severity="critical", status=AlertStatus.open,
                  summary="source masto: the platform refused its credentials: 401", opened_at=AT, updated_at=AT,
                  details={"fix": "renew the token"})
    subject, body, payload = ops_alerts.message(alert, "opened")
    assert subject == "[Earful operational] Credentials refused opened: source:masto (alert 7)"
    assert "what to do: renew the token" in body and "earful alerts ack 7" in body
    assert payload["alert"]["category"] == "operational" and payload["alert"]["subject"] == "source:masto"
    alert.status, alert.resolved_at = AlertStatus.resolved, AT
    _, resolved, _ = ops_alerts.message(alert, "resolved")
    assert "what to do" not in resolved and "earful alerts ack" not in resolved and "resolved 2026-03-02" in resolved


def test_spike_kinds_are_reputation_and_the_rest_operational() -> None:
    assert [ops_alerts.category_of(k) for k in ("volume_spike", "negative_spike", "sender_failing")] == [
        "reputation", "reputation", "operational"]
