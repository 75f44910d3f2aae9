"""``reservation-crawler registry …`` through main(), on real SQLite and real PostgreSQL."""

from __future__ import annotations

import json

from reservation_crawler import cli
from reservation_crawler.apps._exit import ExitCode


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def add(capsys, db: str, *args: str) -> dict:
    code, out, err = run(capsys, "registry", "add", "--registry", db, "--json", *args)
    assert code == ExitCode.OK, err
    return json.loads(out)


def test_add_list_show_withdraw(registry_url, capsys):
    db = registry_url
    made = add(
        capsys, db, "--contact", "me@a.test", "--origin", "https://A.test", "--agent", "GPTBot"
    )
    reg = made["registration"]
    assert reg["status"] == "claimed" and reg["target"] == "https://a.test"
    assert reg["agents"] == ["GPTBot"] and reg["purposes"] == ["train-ai", "ai-use"]
    assert made["verification"]["file"].endswith(
        f"/.well-known/reservation-crawler-verification/{reg['id']}.txt"
    )
    secret = made["withdrawal_secret"]
    assert secret not in json.dumps(reg)

    code, out, _ = run(capsys, "registry", "list", "--registry", db, "--json")
    assert code == 0 and [json.loads(line)["id"] for line in out.splitlines()] == [reg["id"]]
    code, out, _ = run(capsys, "registry", "show", reg["id"], "--registry", db)
    assert code == 0 and "https://a.test" in out and "claimed" in out

    code, _, err = run(capsys, "registry", "withdraw", reg["id"], "--secret", "x", "--registry", db)
    assert code == ExitCode.REFUSED and "wrong withdrawal secret" in err
    code, out, _ = run(
        capsys, "registry", "withdraw", reg["id"], "--secret", secret, "--registry", db, "--json"
    )
    assert code == 0 and json.loads(out)["status"] == "withdrawn"
    code, _, err = run(capsys, "registry", "show", "nope", "--registry", db)
    assert code == ExitCode.REFUSED and "nope" in err


def test_bad_input_names_the_field(registry_url, capsys):
    code, _, err = run(
        capsys, "registry", "add", "--registry", registry_url, "--contact", "c", "--sha256", "xyz"
    )
    assert code == ExitCode.USAGE and "target" in err
    code, _, err = run(
        capsys,
        "registry", "add", "--registry", registry_url, "--contact", "c",
        "--url", "https://a.test/", "--purpose", "eat",
    )  # fmt: skip
    assert code == ExitCode.USAGE and "purposes" in err


def test_export_import_mirrors_without_contacts(
    registry_url, second_registry_url, capsys, tmp_path
):
    work = tmp_path / "work.png"
    work.write_bytes(b"\x89PNG a drawing")
    a = add(capsys, registry_url, "--contact", "secret@a.test", "--file", str(work))
    b = add(capsys, registry_url, "--contact", "x@b.test", "--prefix", "https://b.test/art/")
    assert a["registration"]["kind"] == "sha256" and a["verification"] is None
    feed = tmp_path / "feed.jsonl"
    code, _, _ = run(capsys, "registry", "export", "--registry", registry_url, "-o", str(feed))
    assert code == 0
    text = feed.read_text()
    assert "secret@a.test" not in text and "x@b.test" not in text and "token" not in text
    header, *lines = [json.loads(line) for line in text.splitlines()]
    assert header == {"schema": "reservation-registry/1", "since": 0, "seq": 2}
    assert [r["id"] for r in lines] == [a["registration"]["id"], b["registration"]["id"]]

    code, out, _ = run(
        capsys, "registry", "import", str(feed), "--registry", second_registry_url, "--json"
    )
    assert code == 0 and json.loads(out) == {"read": 2, "changed": 2, "seq": 2}
    code, out, _ = run(
        capsys, "registry", "export", "--registry", second_registry_url, "--since", "1"
    )
    assert [json.loads(line).get("target") for line in out.splitlines()[1:]] == [
        "https://b.test/art/"
    ]

    feed.write_text('{"schema": "reservation-registry/1"}\n{"id": "x", "kind": "url"}\n')
    code, _, err = run(capsys, "registry", "import", str(feed), "--registry", second_registry_url)
    assert code == ExitCode.USAGE and "line 2" in err


def test_import_reads_a_feed_over_http(registry_url, second_registry_url, capsys):
    from registry_site import Site

    add(capsys, registry_url, "--contact", "a@x.test", "--origin", "https://a.test")
    code, feed, _ = run(capsys, "registry", "export", "--registry", registry_url)
    assert code == 0
    with Site() as site:
        site.put("/v1/registry/feed", feed, "application/jsonl")
        source = site.origin + "/v1/registry/feed"
        code, out, err = run(capsys, "registry", "import", source, "--allow-private",
                             "--registry", second_registry_url, "--json")  # fmt: skip
        assert code == 0, err
        assert json.loads(out)["changed"] == 1
        code, _, err = run(capsys, "registry", "import", site.origin + "/missing",
                           "--allow-private", "--registry", second_registry_url)  # fmt: skip
        assert code == ExitCode.USAGE and "HTTP 404" in err
