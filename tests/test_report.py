"""Tests for the /health body parser and the bridge status derived from it."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest

from app.core.model import BridgeStatus, ComponentStatus
from app.core.report import ReportError, parse_report, parse_timestamp

# The body published for bridge v2.9.16, unchanged since v2.9.3.
PUBLISHED_BODY = """
{
  "build": "209163",
  "version": "2.9.16",
  "reports": [
    {"source": "ConfirmationWatcher",   "time": "2026-03-03T14:06:09Z", "expires": "2026-03-03T14:16:09Z", "state": "healthy"},
    {"source": "RedisCache",            "time": "2026-03-03T14:06:09Z", "expires": "2026-03-03T14:16:09Z", "state": "healthy"},
    {"source": "SCIMServer",            "time": "2026-03-03T14:06:56Z", "expires": "2026-03-03T14:16:56Z", "state": "healthy"},
    {"source": "StartProvisionWatcher", "time": "2026-03-03T14:06:09Z", "expires": "2026-03-03T14:16:09Z", "state": "healthy"}
  ],
  "retrievedAt": "2026-03-03T14:06:56Z"
}
"""


def body_with(*reports: dict, retrieved_at: str = "2026-03-03T14:06:56Z") -> dict:
    return {"build": "209163", "version": "2.9.16", "reports": list(reports), "retrievedAt": retrieved_at}


def entry(source: str = "RedisCache", state: str = "healthy",
          time: str = "2026-03-03T14:06:09Z", expires: str = "2026-03-03T14:16:09Z") -> dict:
    return {"source": source, "time": time, "expires": expires, "state": state}


def published_data() -> dict:
    return json.loads(PUBLISHED_BODY)


def test_published_body_parses():
    report = parse_report(PUBLISHED_BODY.encode())

    assert len(report.components) == 4
    assert all(c.status is ComponentStatus.HEALTHY for c in report.components)
    assert report.version == "2.9.16"
    assert report.build == "209163"
    assert isinstance(report.build, str)
    assert report.status() is BridgeStatus.HEALTHY


def test_published_body_component_fields():
    report = parse_report(PUBLISHED_BODY)
    names = [c.name for c in report.components]
    scim = report.components[2]

    assert names == ["ConfirmationWatcher", "RedisCache", "SCIMServer", "StartProvisionWatcher"]
    assert scim.reported_at == datetime(2026, 3, 3, 14, 6, 56, tzinfo=timezone.utc)
    assert scim.expires_at == datetime(2026, 3, 3, 14, 16, 56, tzinfo=timezone.utc)
    assert report.retrieved_at == datetime(2026, 3, 3, 14, 6, 56, tzinfo=timezone.utc)


def test_parse_accepts_dict_and_str():
    from_dict = parse_report(published_data())
    from_str = parse_report(PUBLISHED_BODY)

    assert from_dict == from_str


def test_all_healthy_fresh_is_healthy():
    report = parse_report(body_with(entry("RedisCache"), entry("SCIMServer")))

    assert report.status() is BridgeStatus.HEALTHY
    assert report.unhealthy == []
    assert report.stale == []


@pytest.mark.parametrize("state", ["unhealthy", "Disconnected", "degraded", ""])
def test_other_state_is_unhealthy(state):
    report = parse_report(body_with(entry("SCIMServer"), entry("RedisCache", state=state)))
    redis = report.components[1]

    assert report.status() is BridgeStatus.UNHEALTHY
    assert redis.status is ComponentStatus.UNHEALTHY
    assert redis.state == state
    assert report.unhealthy == [redis]


def test_state_compared_case_insensitively():
    report = parse_report(body_with(entry(state="HEALTHY"), entry("SCIMServer", state="Healthy")))

    assert report.status() is BridgeStatus.HEALTHY
    assert report.components[0].state == "HEALTHY"


def test_expired_report_is_stale():
    stale = entry("ConfirmationWatcher", time="2026-03-03T13:40:00Z", expires="2026-03-03T13:50:00Z")
    report = parse_report(body_with(stale, entry("RedisCache")))

    assert report.components[0].status is ComponentStatus.STALE
    assert report.components[1].status is ComponentStatus.HEALTHY
    assert report.status() is BridgeStatus.DEGRADED


def test_unhealthy_outranks_stale():
    stale = entry("ConfirmationWatcher", time="2026-03-03T13:40:00Z", expires="2026-03-03T13:50:00Z")
    report = parse_report(body_with(stale, entry("RedisCache", state="unhealthy")))

    assert report.status() is BridgeStatus.UNHEALTHY


def test_staleness_ignores_local_clock_past():
    # Every timestamp is in 2019, long expired by the local clock, but fresh at retrievedAt.
    fresh = entry(time="2019-06-01T10:00:00Z", expires="2019-06-01T10:10:00Z")
    report = parse_report(body_with(fresh, retrieved_at="2019-06-01T10:05:00Z"))

    assert report.components[0].status is ComponentStatus.HEALTHY
    assert report.status() is BridgeStatus.HEALTHY


def test_staleness_ignores_local_clock_future():
    # Every timestamp is in 2099, in the local clock's future, but expired at retrievedAt.
    expired = entry(time="2099-06-01T10:00:00Z", expires="2099-06-01T10:10:00Z")
    report = parse_report(body_with(expired, retrieved_at="2099-06-01T10:30:00Z"))

    assert report.components[0].status is ComponentStatus.STALE
    assert report.status() is BridgeStatus.DEGRADED


def test_expiry_equal_to_retrieval_is_fresh():
    report = parse_report(body_with(entry(expires="2026-03-03T14:06:56Z")))

    assert report.components[0].status is ComponentStatus.HEALTHY


def test_empty_reports_is_degraded():
    report = parse_report(body_with())

    assert report.components == ()
    assert report.status() is BridgeStatus.DEGRADED


def test_unknown_component_names_accepted():
    report = parse_report(body_with(entry("RedisCache"), entry("SomeFutureWatcher")))

    assert [c.name for c in report.components] == ["RedisCache", "SomeFutureWatcher"]
    assert report.status() is BridgeStatus.HEALTHY


def test_unknown_top_level_fields_accepted():
    data = published_data()
    data["region"] = "eu"

    report = parse_report(data)

    assert len(report.components) == 4


def test_version_and_build_optional():
    data = published_data()
    del data["version"]
    del data["build"]

    report = parse_report(data)

    assert report.version is None
    assert report.build is None


def test_offset_timestamp_converted_to_utc():
    moment = parse_timestamp("2026-03-03T16:06:09+02:00", "time")

    assert moment == datetime(2026, 3, 3, 14, 6, 9, tzinfo=timezone.utc)
    assert moment.utcoffset().total_seconds() == 0


def test_nanosecond_timestamp_parses():
    # Go's RFC3339Nano layout writes up to nine fractional digits.
    moment = parse_timestamp("2026-03-03T14:06:09.123456789Z", "time")

    assert moment.replace(microsecond=0) == datetime(2026, 3, 3, 14, 6, 9, tzinfo=timezone.utc)


def _without(key: str) -> dict:
    data = published_data()
    del data["reports"][0][key]
    return data


def _with_entry_field(key: str, value) -> dict:
    data = published_data()
    data["reports"][0][key] = value
    return data


def _with_top_level(key: str, value) -> dict:
    data = published_data()
    data[key] = value
    return data


def _without_top_level(key: str) -> dict:
    data = published_data()
    del data[key]
    return data


INVALID_BODIES = [
    pytest.param(_without_top_level("reports"), "reports", id="no-reports"),
    pytest.param(_with_top_level("reports", {"RedisCache": "healthy"}), "reports", id="reports-not-list"),
    pytest.param(_with_top_level("reports", ["healthy"]), "reports[0]", id="entry-not-object"),
    pytest.param(_without("source"), "reports[0].source", id="entry-without-source"),
    pytest.param(_without("state"), "reports[0].state", id="entry-without-state"),
    pytest.param(_without("time"), "reports[0].time", id="entry-without-time"),
    pytest.param(_without("expires"), "reports[0].expires", id="entry-without-expires"),
    pytest.param(_with_entry_field("time", "yesterday"), "reports[0].time", id="bad-timestamp"),
    pytest.param(_with_entry_field("expires", "2026-03-03T14:16:09"), "reports[0].expires", id="timestamp-no-zone"),
    pytest.param(_with_entry_field("time", 1772546769), "reports[0].time", id="timestamp-as-number"),
    pytest.param(_with_entry_field("state", True), "reports[0].state", id="state-not-string"),
    pytest.param(_with_top_level("build", 209163), "build", id="build-as-int"),
    pytest.param(_with_top_level("version", 2.9), "version", id="version-as-float"),
    pytest.param(_without_top_level("retrievedAt"), "retrievedAt", id="no-retrieved-at"),
]


@pytest.mark.parametrize(("data", "field"), INVALID_BODIES)
def test_invalid_field_raises_report_error(data, field):
    with pytest.raises(ReportError) as caught:
        parse_report(copy.deepcopy(data))

    assert field in str(caught.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"pong", "not JSON", id="plain-text"),
        pytest.param(b"<!DOCTYPE html><html></html>", "not JSON", id="html"),
        pytest.param(b"\xff\xfe\x00", "not JSON", id="not-utf8"),
        pytest.param(b"[]", "JSON object", id="json-array"),
        pytest.param(b'"healthy"', "JSON object", id="json-string"),
        pytest.param(b"null", "JSON object", id="json-null"),
    ],
)
def test_non_object_body_raises_report_error(body, expected):
    with pytest.raises(ReportError) as caught:
        parse_report(body)

    assert expected in str(caught.value)


def test_report_error_is_value_error():
    assert issubclass(ReportError, ValueError)
