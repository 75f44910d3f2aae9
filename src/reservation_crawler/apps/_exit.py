"""The exit statuses of every command, declared once.

They live in apps/ rather than cli/ because two apps report them as data: the validate report's
``summary.exit_status`` and the crawl summary's ``exit_code`` (apps never import cli).
README.md's command table lists them per command; tests/test_cli_commands.py checks it.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """A command's exit status; aliases give one number the meaning each command has for it."""

    OK = 0
    FINDINGS = 1  # validate: errors found (--strict: warnings too)
    INCOMPLETE = 1  # crawl, demo: interrupted or sites left unfinished (resume with --job-dir)
    REFUSED = 1  # registry: no such registration, wrong secret, verification not proved
    UNREACHABLE = 2  # validate: the site; robots: the file; serve: the address cannot be bound
    USAGE = 2  # bad arguments, unreadable input, Redis or the output cannot be used
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)
