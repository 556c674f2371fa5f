"""The shared HTTP client: URL handling, retries, error mapping, secret hygiene."""
from __future__ import annotations

import logging

import pytest

import harbor_fakes as hf
from migrator.errors import EndpointProtocol, EndpointUnreachable, ExitCode
from migrator.verify.http import HttpClient, normalize_base, redact_url


def test_redact_url_drops_user_info_and_query():
    assert redact_url("https://admin:pw@harbor.example.com:8443/service/token?scope=x&account=admin") == \
        "https://harbor.example.com:8443/service/token"


def test_normalize_base():
    assert normalize_base("harbor.example.com/") == "http://harbor.example.com"
    assert normalize_base(" https://h:5000/ ") == "https://h:5000"
    for bad in ("", "ftp://h", "http://"):
        with pytest.raises(EndpointUnreachable):
            normalize_base(bad)


def test_retries_are_bounded_and_backoff_grows(serve):
    url, server = serve(hf.FakeRegistryHandler, fail_first=10)
    pauses = []
    http = HttpClient(url, what="the registry", retries=3, backoff=0.1, sleep=pauses.append)
    with pytest.raises(EndpointUnreachable) as info:
        http.get("/v2/")
    assert info.value.exit_code == ExitCode.ENDPOINT_UNREACHABLE
    assert http.requests == 4 and http.retried == 3 and server.hits == 4
    # 0.1, 0.2, 0.4 seconds, each with ±50 % jitter
    assert len(pauses) == 3 and 0.05 <= pauses[0] <= 0.15 and 0.2 <= pauses[2] <= 0.6


def test_a_credential_with_a_line_break_is_refused_without_echoing_it(serve, caplog):
    caplog.set_level(logging.DEBUG)
    url, server = serve(hf.AdminserverHandler, secrets={"s"}, config={})
    http = HttpClient(url, what="the adminserver")
    with pytest.raises(EndpointProtocol) as info:
        http.get("/api/configurations", headers={"Authorization": "Harbor-Secret abc\r\nX-Evil: 1"})
    assert "line break" in info.value.message and "abc" not in info.value.message
    assert server.recorder.paths == []
    assert "abc" not in caplog.text


def test_credentials_in_the_url_never_reach_messages(closed_port_url):
    url = closed_port_url.replace("http://", "http://admin:Pa55word@")
    http = HttpClient(url, what="the registry", retries=0)
    with pytest.raises(EndpointUnreachable) as info:
        http.get("/v2/")
    assert "Pa55word" not in info.value.message and "connection refused" in info.value.message
