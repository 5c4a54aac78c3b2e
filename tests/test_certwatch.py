"""Tests for the certificate watch: thresholds, renewal, and certificates read from a TLS simulator."""

from __future__ import annotations

import asyncio
import ssl
from datetime import datetime, timedelta, timezone

import pytest
import trustme
import truststore

from app.core.certwatch import (
    CertificateSettings,
    CertificateSettingsError,
    CertificateWatch,
    certificate_summary,
)
from app.core.config import BridgeConfig
from app.core.engine import Engine, EngineListener
from app.core.history import HISTORY_FILE, HistoryReader, Recorder
from app.core.model import BridgeStatus, CertificateInfo, ProbeKind
from app.core.policy import AlertKind
from app.core.probe import Prober
from app.core.tokens import TokenStore

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=timezone.utc)


def certificate(days_left: float, now: datetime = NOW, serial: str = "1") -> CertificateInfo:
    return CertificateInfo(
        subject="CN=scim.example.com",
        issuer="CN=R11, O=Let's Encrypt",
        not_after=now + timedelta(days=days_left),
        serial=serial,
    )


def kinds(events) -> list[tuple[str, float | None]]:
    return [(event.kind, event.threshold) for event in events]


# -- thresholds ----------------------------------------------------------------------------------------


def test_one_warning_per_threshold():
    watch = CertificateWatch()
    cert = certificate(30)
    seen = []
    for day in range(31):  # one probe a day until the last day
        seen += kinds(watch.observe(cert, NOW + timedelta(days=day, hours=1)))

    assert seen == [("expiring", 21.0), ("expiring", 7.0), ("expiring", 2.0)]


def test_many_probes_one_warning():
    watch = CertificateWatch()
    cert = certificate(20)

    first = watch.observe(cert, NOW)
    repeats = [watch.observe(cert, NOW + timedelta(minutes=minute)) for minute in range(1, 200)]

    assert kinds(first) == [("expiring", 21.0)]
    assert all(events == [] for events in repeats)


def test_first_seen_close_to_expiry():
    watch = CertificateWatch()
    cert = certificate(5)

    assert kinds(watch.observe(cert, NOW)) == [("expiring", 7.0)]  # not 21 and 7 at once
    assert kinds(watch.observe(cert, NOW + timedelta(days=3.5))) == [("expiring", 2.0)]


def test_renewal_resets_warnings():
    watch = CertificateWatch()
    old = certificate(6)
    watch.observe(old, NOW)
    renewed = certificate(90, serial="2")

    events = watch.observe(renewed, NOW + timedelta(hours=1))
    again = watch.observe(renewed, NOW + timedelta(hours=2))
    late = watch.observe(renewed, NOW + timedelta(days=70))

    assert kinds(events) == [("renewed", None)]
    assert again == []
    assert kinds(late) == [("expiring", 21.0)]


def test_older_certificate_is_not_renewal():
    watch = CertificateWatch()
    watch.observe(certificate(60), NOW)

    events = watch.observe(certificate(10, serial="other"), NOW)

    assert kinds(events) == [("expiring", 21.0)]


def test_state_survives_restart():
    watch = CertificateWatch()
    watch.observe(certificate(20), NOW)

    restored = CertificateWatch.from_json(watch.to_json())

    assert restored.observe(certificate(20), NOW + timedelta(hours=1)) == []
    assert kinds(restored.observe(certificate(20), NOW + timedelta(days=14))) == [("expiring", 7.0)]


def test_unreadable_state_starts_over():
    restored = CertificateWatch.from_json("{not json")

    assert kinds(restored.observe(certificate(20), NOW)) == [("expiring", 21.0)]


def test_custom_thresholds():
    settings = CertificateSettings.from_dict({"warn_days": [30, 3]})
    watch = CertificateWatch(settings)

    assert settings.warn_days == (30.0, 3.0)
    assert kinds(watch.observe(certificate(25), NOW)) == [("expiring", 30.0)]


@pytest.mark.parametrize("table", [{"warn_days": "21"}, {"warn_days": [0]}, {"days": [7]}, {"warn_days": [True]}])
def test_invalid_settings(table):
    with pytest.raises(CertificateSettingsError):
        CertificateSettings.from_dict(table)


def test_summary_text():
    text = certificate_summary(certificate(10.2), NOW)

    assert "CN=scim.example.com" in text
    assert "issued by CN=R11" in text
    assert "10 days left" in text
    assert "chain verified" in text


# -- certificates from a TLS bridge ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority():
    return trustme.CA(organization_name="Bridgewatch Test CA")


def tls_bridge(simulator, authority, token, not_after: datetime):
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf = authority.issue_cert("localhost", common_name="localhost", not_after=not_after)
    leaf.configure_cert(server_context)
    return simulator("healthy", token=token, ssl_context=server_context)


def trusting_prober(authority) -> Prober:
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    authority.configure_trust(context)
    return Prober(timeout=2.0, ssl_context=context)


def test_probe_reads_certificate(simulator, authority, run_async, token):
    not_after = (datetime.now(timezone.utc) + timedelta(days=10)).replace(microsecond=0)
    server = tls_bridge(simulator, authority, token, not_after)

    async def probe():
        prober = trusting_prober(authority)
        try:
            return await prober.probe(server.url, ProbeKind.HEALTH, token)
        finally:
            await prober.aclose()

    result = run_async(probe())

    assert result.status is BridgeStatus.HEALTHY
    assert result.certificate is not None
    assert result.certificate.not_after == not_after
    assert result.certificate.subject.endswith("CN=localhost")
    assert "Bridgewatch Test CA" in result.certificate.issuer
    assert result.certificate.verified


def test_plain_http_has_no_certificate(simulator, run_async, token):
    server = simulator("healthy", token=token)

    async def probe():
        prober = Prober(timeout=2.0)
        try:
            return await prober.probe(server.url, ProbeKind.HEALTH, token)
        finally:
            await prober.aclose()

    assert run_async(probe()).certificate is None


def test_engine_warns_once_and_sees_renewal(simulator, authority, run_async, token, memory_keyring, tmp_path):
    now = datetime.now(timezone.utc)
    expiring = tls_bridge(simulator, authority, token, now + timedelta(days=10))
    renewed = tls_bridge(simulator, authority, token, now + timedelta(days=90))
    store = TokenStore(memory_keyring)
    bridge = BridgeConfig(name="Prod", url=expiring.url, probe=ProbeKind.HEALTH, interval=3600)
    moved = BridgeConfig(id=bridge.id, name="Prod", url=renewed.url, probe=ProbeKind.HEALTH, interval=3600)
    store.set(bridge.id, token)
    alerts = []
    db_path = tmp_path / HISTORY_FILE

    async def scenario():
        engine = Engine(
            [bridge],
            tokens=store,
            listener=EngineListener(notification=alerts.append),
            prober=trusting_prober(authority),
            recorder=Recorder(db_path),
        )
        task = asyncio.create_task(engine.run())
        try:
            for count in (1, 2, 3):
                await until(lambda: len(expiring.requests) == count)
                await asyncio.sleep(0.05)
                if count < 3:
                    engine.request_check(bridge.id)
            await engine.reconfigure([moved])  # the bridge now serves its renewed certificate
            await until(lambda: len(renewed.requests) == 1)
            await asyncio.sleep(0.05)
            engine.request_check(bridge.id)
            await until(lambda: len(renewed.requests) == 2)
            await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run_async(scenario(), timeout=10)

    certificate_alerts = [alert for alert in alerts if alert.kind is AlertKind.CERTIFICATE]
    assert [alert.title for alert in certificate_alerts] == [
        "Prod: certificate expires in 9 days",
        "Prod: certificate renewed",
    ]
    with HistoryReader(db_path) as reader:
        samples = reader.samples(bridge.id, 0, 4e9)
        stored = reader.state(bridge.id, "certificate_info")
    assert {sample.status for sample in samples} == {"healthy"}  # a warning is not downtime
    assert "CN=localhost" in stored


async def until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.01)


def test_alert_severity():
    from app.core.certwatch import CertificateEvent, certificate_alert

    warning = certificate_alert(CertificateEvent("expiring", certificate(6), 6.0, 7.0), "id", "Prod", 0.0)
    renewal = certificate_alert(CertificateEvent("renewed", certificate(90), 90.0), "id", "Prod", 0.0)

    assert warning.severity == "warning"
    assert renewal.severity == "info"
    assert warning.kind is AlertKind.CERTIFICATE
    assert "expires on 2026-03-09" in warning.body
