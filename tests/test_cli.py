"""The robots and check commands, through cli.main (reports on stdout, messages on stderr)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from reservation_crawler.cli import main
from reservation_crawler.testing import FixtureWeb, Recipe, recipe

ROBOTS = b"""User-agent: GPTBot
Disallow: /

User-agent: *
Disallow: /private/
Allow: /private/open
Disalow: /typo
"""


@pytest.fixture
def robots_file(tmp_path):
    path = tmp_path / "robots.txt"
    path.write_bytes(ROBOTS)
    return path


def test_robots_text_report_names_rule_line_and_findings(robots_file, capsys):
    urls = ["https://x.test/", "https://x.test/private/open", "https://x.test/private/a"]
    assert main(["robots", str(robots_file), "--agent", "GPTBot", "-a", "Googlebot", *urls]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("DISALLOWED  GPTBot") and "line 2: Disallow: /" in lines[1]
    assert "allowed     Googlebot" in lines[6] and "line 6: Allow: /private/open" in lines[7]
    assert "DISALLOWED  Googlebot" in lines[10] and "line 5: Disallow: /private/" in lines[11]
    assert "robots.key-typo line 7" in out


def test_robots_json(robots_file, capsys):
    assert main(["robots", str(robots_file), "-a", "GPTBot", "--json", "https://x.test/a"]) == 0
    data = json.loads(capsys.readouterr().out)
    (row,) = data["results"]
    assert row["allowed"] is False
    assert row["rule"] == {"line": 2, "text": "Disallow: /"}
    assert row["group"] == "GPTBot" and row["group_lines"] == [1]
    assert any(f["code"] == "robots.key-typo" and f["line"] == 7 for f in data["findings"])


def test_robots_reads_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ROBOTS)))
    assert main(["robots", "-", "-a", "GPTBot", "--json", "/x"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["allowed"] is False


def test_robots_missing_file_is_exit_2(tmp_path, capsys):
    assert main(["robots", str(tmp_path / "nope.txt"), "/"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_robots_google_profile(tmp_path, capsys):
    path = tmp_path / "robots.txt"
    path.write_bytes(b"User-agent: *\nDisallow: /%62ar\n")
    assert main(["robots", str(path), "--json", "/bar"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["allowed"] is False
    assert main(["robots", str(path), "--profile", "google", "--json", "/bar"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["allowed"] is True


@pytest.fixture(scope="module")
def web():
    with FixtureWeb.from_recipes(
        [
            Recipe(
                "custom",
                "",
                {"robots": {"groups": [{"agents": ["GPTBot"], "rules": [["disallow", "/"]]}]}},
            ),
            recipe("robots-5xx", "503"),
        ],
        corpus=False,
    ) as w:
        yield w


def test_robots_by_url_and_unreachable_exit_2(web, capsys):
    ok = web.base_url(0) + "/robots.txt"
    assert main(["robots", ok, "--allow-private", "-a", "GPTBot", "--json", "/"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["allowed"] is False
    down = web.base_url(1) + "/robots.txt"
    assert main(["robots", down, "--allow-private", "-a", "ClaudeBot", "/"]) == 2
    out = capsys.readouterr().out
    assert "complete disallow" in out and "DISALLOWED" in out


def test_robots_url_refuses_loopback_without_allow_private(web, capsys):
    assert main(["robots", web.base_url(0) + "/robots.txt", "/"]) == 2
    assert "blocked-address" in capsys.readouterr().out


def test_check_text_table(web, capsys):
    assert main(["check", web.base_url(0) + "/", "--allow-private", "-a", "GPTBot"]) == 0
    out = capsys.readouterr().out
    assert "agent" in out and "train-ai" in out
    gptbot = next(line for line in out.splitlines() if line.strip().startswith("GPTBot "))
    assert gptbot.split()[1:] == ["RESERVED"] * 4
    assert "evidence:" in out and "robots.txt line" in out


def test_check_rejects_non_http_url(capsys):
    assert main(["check", "ftp://example.com/"]) == 2
    assert "invalid URL 'ftp://example.com/': the scheme 'ftp' is not supported" in (
        capsys.readouterr().err
    )


def test_console_script_help_lists_every_command():
    out = subprocess.run(
        [sys.executable, "-m", "reservation_crawler.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in ("robots", "check", "crawl", "demo", "validate", "stats", "serve"):
        assert command in out, command


@pytest.fixture(scope="module")
def unread_robots_web():
    with FixtureWeb.from_recipes(
        [recipe("no-robots"), recipe("robots-5xx", "503")], corpus=False
    ) as w:
        yield w


@pytest.mark.parametrize("index", [0, 1])
def test_robots_gives_an_unread_robots_txt_the_reason_check_gives(unread_robots_web, index, capsys):
    """One wording: the robots command prints the core's reason (RFC 9309 §2.3.1.3 / .4),
    the one check's evidence carries, and the same allowed / disallowed answer."""
    web = unread_robots_web
    robots_url = web.base_url(index) + "/robots.txt"
    main(["robots", robots_url, "--allow-private", "--json", "/"])
    (row,) = json.loads(capsys.readouterr().out)["results"]
    assert main(["check", "--json", "--allow-private", web.url(index)]) == 0
    record = json.loads(capsys.readouterr().out)
    (evidence,) = [e for e in record["evidence"] if e["agent"] == "*" and e["signal"] == "robots"]
    assert row["reason"] == evidence["raw"]
    assert row["allowed"] == (record["decisions"]["*"]["crawl"] != "reserved")
    main(["robots", robots_url, "--allow-private", "/"])
    assert capsys.readouterr().out.splitlines()[0] == f"robots.txt: {evidence['raw']}"
