"""The harbor.cfg reader/writer: what Harbor's prepare reads, comments kept, the rest refused."""
from __future__ import annotations

import configparser

import pytest

from migrator.cfg.parse import parse, render, semicolon_comment
from migrator.errors import ConfigInvalid


def prepare_reads(text: str) -> dict[str, str]:
    """What Harbor's prepare sees: ConfigParser after a [configuration] header."""
    parser = configparser.RawConfigParser()
    parser.read_string("[configuration]\n" + text)
    return dict(parser["configuration"])


@pytest.mark.parametrize("name", ["cfg_050", "cfg_152"])
def test_real_files_round_trip_byte_for_byte(name, request):
    text = request.getfixturevalue(name)
    assert render(parse(text)) == text


@pytest.mark.parametrize("name", ["cfg_050", "cfg_152"])
def test_values_are_what_configparser_reads(name, request):
    text = request.getfixturevalue(name)
    assert parse(text).as_dict() == prepare_reads(text)


def test_050_file_details(cfg_050):
    doc = parse(cfg_050)
    assert doc.header == ["## Configuration file of Harbor"]
    assert doc.get("ldap_uid") == "uid"              # trailing blank stripped
    assert doc.get("email_identity") == ""
    assert doc.get("ldap_scope") == "3"
    assert "ldap_searchdn" not in doc                 # commented out in the shipped file
    hostname = doc.entry("hostname")
    assert hostname.comments[0].startswith("#The IP address")
    assert doc.trailer == ["#############"]


def test_changed_value_rewrites_only_that_line():
    doc = parse("# top\n\n# about a\nA = 1\nb: two \n")
    doc.entry("a").value = "9"
    assert render(doc) == "# top\n\n# about a\na = 9\nb: two \n"


def test_keys_are_case_insensitive_and_colon_separates():
    doc = parse("HostName: reg.example.com\nurl = ldap://x:389\n")
    assert doc.get("hostname") == "reg.example.com"
    assert doc.get("url") == "ldap://x:389"


@pytest.mark.parametrize("text, fragment", [
    ("a = 1\n  continued\n", "line 2: indented line"),
    ("a = 1\n\n  # indented comment\n", "line 3: indented line"),
    ("[configuration]\na = 1\n", "line 1: section header"),
    ("a = 1\njust words\n", "line 2: not a 'key = value' line"),
    ("a = 1\nb = 2\nA = 3\n", "line 3: a is set again (first on line 1)"),
])
def test_refused_lines_name_the_line(text, fragment):
    with pytest.raises(ConfigInvalid) as exc:
        parse(text)
    assert fragment in exc.value.message


def test_duplicate_password_message_has_no_value():
    with pytest.raises(ConfigInvalid) as exc:
        parse("email_password = Sup3r-Secret\nemail_password = Other-Secret\n")
    assert "Secret" not in exc.value.message
    assert "email_password" in exc.value.message


def test_semicolon_comment_detection():
    assert semicolon_comment("abc ;def")
    assert not semicolon_comment("abc;def")
