"""``reservation-crawler manifest verify MANIFEST [CARD]``: a dataset manifest against its card."""

from __future__ import annotations

import argparse

from reservation_crawler.apps._exit import ExitCode
from reservation_crawler.cli._command import add_command
from reservation_crawler.cli._output import Output, add_json_flag

EXITS = {
    ExitCode.OK: "the manifest agrees with its card",
    ExitCode.FINDINGS: "they differ (each difference is named)",
    ExitCode.USAGE: "bad arguments, or the manifest or card cannot be read",
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = add_command(
        commands,
        "manifest",
        help="verify a dataset manifest against its card (docs/datasets.md)",
        description=(
            "crawl writes, beside its dataset, a manifest (<name>.manifest.parquet: one row per "
            "URL) and a dataset card (<name>.card.json / .card.md) with the manifest's SHA-256 "
            "and its counts. 'manifest verify' recomputes both from the manifest and names "
            "every difference."
        ),
        exits=EXITS,
        run=run,
    )
    p.add_argument("action", choices=("verify",), help="what to do (verify)")
    p.add_argument("manifest", metavar="MANIFEST", help="the manifest (.manifest.parquet)")
    p.add_argument(
        "card", metavar="CARD", nargs="?", help="the card (default: <name>.card.json beside it)"
    )
    add_json_flag(p, help="the result as JSON")


def run(args: argparse.Namespace, out: Output) -> int:
    from pathlib import Path

    from reservation_crawler.apps.datasets import card_path_of, verify
    from reservation_crawler.errors import InputError

    manifest = Path(args.manifest)
    card = Path(args.card) if args.card else card_path_of(manifest)
    try:
        problems, stated = verify(manifest, card)
    except (InputError, OSError) as exc:
        out.message(str(exc))
        return ExitCode.USAGE
    data = {
        "manifest": str(manifest),
        "card": str(card),
        "sha256": stated["manifest"].get("sha256"),
        "rows": stated["manifest"].get("rows"),
        "ok": not problems,
        "differences": problems,
    }

    def text() -> str:
        if not problems:
            return (
                f"ok: {manifest} agrees with {card} ({data['rows']} rows, sha256 {data['sha256']})"
            )
        return "\n".join([f"{manifest} differs from {card}:", *(f"  {p}" for p in problems)])

    out.emit(data, text)
    return ExitCode.FINDINGS if problems else ExitCode.OK
