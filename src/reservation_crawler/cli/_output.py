"""The one output sink of the command line: reports to stdout, messages to stderr.

Modelled on rich's ``Console``: a command gets one :class:`Output` and never touches
``sys.stdout`` / ``sys.stderr`` itself. ``--json`` is decided here: :meth:`Output.emit` writes the
data as one JSON line, or its text rendering. A command whose stdout carries a dataset
(``crawl -o -``) moves its report to stderr with :meth:`Output.report_on_stderr`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["Output", "add_json_flag"]


def add_json_flag(
    parser: argparse._ActionsContainer, help: str = "machine-readable output"
) -> None:
    """``--json``, the same flag on every command (:attr:`Output.json` reads it)."""
    parser.add_argument("--json", action="store_true", help=help)


class Output:
    """Where one command writes. ``prefix`` starts each message (``"stats"`` -> ``stats: ...``)."""

    def __init__(self, prefix: str, *, json: bool = False) -> None:
        self.prefix = prefix
        self.json = json
        self._report_on_stderr = False

    # The streams are looked up on every write, so a test's capture (capsys) or a redirection
    # made after the Output was built is honoured.
    @property
    def stdout(self) -> TextIO:
        return sys.stderr if self._report_on_stderr else sys.stdout

    @property
    def stderr(self) -> TextIO:
        return sys.stderr

    @property
    def interactive(self) -> bool:
        """A person watches stderr and no JSON is asked for: progress lines are welcome."""
        return not self.json and self.stderr.isatty()

    def report_on_stderr(self, moved: bool = True) -> None:
        """Send the report to stderr: stdout carries data (``-o -``)."""
        self._report_on_stderr = moved

    def report(self, text: str, *, end: str = "\n") -> None:
        """Write (part of) the report, flushed, so a reader of a pipe sees each part at once."""
        stream = self.stdout
        stream.write(text + end)
        stream.flush()

    def json_line(self, value: Any) -> None:
        """One JSON document on one line (non-ASCII kept as is)."""
        self.report(json.dumps(value, ensure_ascii=False))

    def emit(self, data: Any, text: Callable[[], str], *, end: str = "\n") -> None:
        """The report: with ``--json``, ``data`` as one JSON line; otherwise ``text()``."""
        if self.json:
            self.json_line(data)
        else:
            self.report(text(), end=end)

    def message(self, text: str, *, prefix: str | None = None) -> None:
        """A message for the person at the terminal (errors, notes, where files went)."""
        prefix = self.prefix if prefix is None else prefix
        stream = self.stderr
        stream.write(f"{prefix}: {text}\n" if prefix else f"{text}\n")
        stream.flush()
