"""The command line as a whole: every command's --help, its exit statuses, and what it imports.

cli/ is the only argparse; each command's exit statuses are ExitCode members, listed by its
--help and, the same, by README.md's command table.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reservation_crawler import cli
from reservation_crawler.apps._exit import ExitCode

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "reservation_crawler"


def commands() -> dict[str, object]:
    """Command name -> its module in cli/, as build_parser() registers them."""
    parser = cli.build_parser()
    (action,) = [a for a in parser._actions if a.dest == "==SUPPRESS==" and a.choices]
    return {
        name: sys.modules[sub.get_default("run").__module__] for name, sub in action.choices.items()
    }


def readme_exit_statuses() -> dict[str, set[int]]:
    """README.md's command table: command name -> the exit statuses its last column names."""
    table: dict[str, set[int]] = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `reservation-crawler (\w+)[^|]*\|.*\|([^|]*)\|\s*$", line)
        if match:
            table[match.group(1)] = {int(n) for n in re.findall(r"\b\d+\b", match.group(2))}
    return table


def test_every_command_has_a_module_and_the_readme_a_row():
    assert set(commands()) == set(readme_exit_statuses())
    assert list(commands()) == [
        "robots",
        "check",
        "crawl",
        "demo",
        "manifest",
        "recheck",
        "serve",
        "validate",
        "stats",
        "audit",
        "registry",
    ]


@pytest.mark.parametrize("name", list(commands()))
def test_help_works_and_lists_the_exit_statuses(name: str, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as stopped:
        cli.main([name, "--help"])
    assert stopped.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    exits = commands()[name].EXITS
    assert all(isinstance(code, ExitCode) for code in exits)
    for code, why in exits.items():
        assert f"{int(code)} {' '.join(why.split())}" in text
    assert "--json" in text or name == "serve"


@pytest.mark.parametrize("name", list(commands()))
def test_readme_table_states_the_exit_statuses(name: str):
    documented = readme_exit_statuses()[name]
    assert documented == {int(code) for code in commands()[name].EXITS}
    assert documented <= {int(code) for code in ExitCode}


def test_readme_states_the_interrupted_status(monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"exit status {int(ExitCode.INTERRUPTED)}" in readme

    class Interrupted(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise KeyboardInterrupt

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(Interrupted()))
    assert cli.main(["robots", "-", "/x"]) == ExitCode.INTERRUPTED == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_no_command_is_a_usage_error(capsys):
    assert cli.main([]) == ExitCode.USAGE
    assert "COMMAND" in capsys.readouterr().err


def test_only_cli_parses_arguments():
    """argparse lives in cli/ (and in the fixture web's own tool, which imports nothing of ours)."""
    parsing = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(("cli/", "testing/")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "argparse" for n in names):
                parsing.append(relative)
    assert not parsing, f"argparse outside cli/: {parsing}"


def test_robots_starts_without_the_heavy_dependencies(tmp_path: Path):
    robots_txt = tmp_path / "robots.txt"
    robots_txt.write_bytes(b"User-agent: *\nDisallow: /private\n")
    heavy = ("scrapy", "redis", "httpx", "lxml", "starlette", "uvicorn", "pyarrow", "duckdb")
    code = (
        "import sys\n"
        "from reservation_crawler.cli import main\n"
        f"status = main(['robots', {str(robots_txt)!r}, '/private'])\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("DISALLOWED")
    assert done.stderr.strip() == ""
