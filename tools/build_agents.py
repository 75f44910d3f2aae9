"""Build ``src/reservation_crawler/signals/data/agents.json``, the curated AI agent registry.

Input: the ai.robots.txt list (``robots.json``), pinned in ``tests/data/agents/ai-robots-txt.json``
(source, commit and licence in ``tests/data/agents/SOURCES.md``), plus the curation table below,
which carries the facts of ``signals.md`` §3. No network access. The rules are documented in
``docs/agents.md``.

Usage::

    python tools/build_agents.py            # rewrite the data file
    python tools/build_agents.py --check    # exit 1 if the data file is not what we would write
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT / "tests" / "data" / "agents" / "ai-robots-txt.json"
DEFAULT_OUTPUT = ROOT / "src" / "reservation_crawler" / "signals" / "data" / "agents.json"

SCHEMA = "agents/1"

SOURCE_AI_ROBOTS_TXT = "ai-robots-txt"
SOURCE_SIGNALS = "signals-3"
SOURCES: dict[str, dict[str, str]] = {
    SOURCE_AI_ROBOTS_TXT: {
        "title": "ai.robots.txt robots.json (agent facts from Known Agents / Dark Visitors)",
        "url": "https://github.com/ai-robots-txt/ai.robots.txt/blob/"
        "738c80df2169027ce0e07c9976fd3f2f57dd8f7b/robots.json",
        "license": "MIT",
    },
    SOURCE_SIGNALS: {
        "title": "reservation-crawler research notes, signals.md section 3 (AI user agents)",
        "url": "",
        "license": "project documentation",
    },
}

# What an agent does. One agent can have several.
CLASSES: dict[str, str] = {
    "training": "collects content to train AI models",
    "search": "indexes content for an AI search engine or AI answers",
    "user-fetch": "fetches a page when a user of an AI assistant asks for it",
    "agent": "an AI agent or coding agent that browses and acts for a user",
    "control": "a control token only: never sent as a User-Agent, read from robots.txt to "
    "decide how content fetched by another crawler may be used",
    "dataset": "builds or sells datasets and data feeds that others use, training included",
    "other": "AI-related, but none of the above (analytics, translation, link previews, tools)",
    "unknown": "purpose not documented",
}

# The source's `function` text -> our classes. Every function string of the source must be here:
# a new string makes the build fail, so a source update is reviewed, not guessed.
FUNCTION_CLASSES: dict[str, tuple[str, ...]] = {
    # Known Agents categories
    "AI Search Crawlers": ("search",),
    "AI Assistants": ("user-fetch",),
    "AI Data Providers": ("dataset",),
    "AI Data Scrapers": ("training",),
    "AI data scraper": ("training",),
    "AI Agents": ("agent",),
    "AI Coding Agents": ("agent",),
    "Undocumented AI Agents": ("unknown",),
    "Unclear at this time.": ("unknown",),
    # free-text functions
    "Data Scraper from RSS Feeds.": ("other",),
    "Content is used to train open language models.": ("training",),
    "A massive, artificial intelligence/machine learning, automated system.": ("dataset",),
    "Collects data for AI natural language search": ("search",),
    "Service improvement and enabling answers for Alexa users.": ("search",),
    "Search engine using generative AI, AI Search Assistant": ("search",),
    "Collects data for AI search": ("search",),
    "Scrapes data to train Anthropic's AI products.": ("training",),
    "Powers features in Siri, Spotlight, Safari, Apple Intelligence, and others.": ("training",),
    "AI search, assistants and agents": ("search",),
    "Data scraping for custom AI applications.": ("search",),
    "LLM/AI training.": ("training",),
    "AI Learning Companion": ("other",),
    "LLM training.": ("training",),
    "Provides open crawl dataset, used for many purposes, including Machine Learning/AI.": (
        "dataset",
    ),
    "Claude-SearchBot navigates the web to improve search result quality for users. It analyzes "
    "online content specifically to enhance the relevance and accuracy of search responses.": (
        "search",
    ),
    "Retrieves data to provide responses to user-initiated prompts.": ("user-fetch",),
    "AI LLM Scraper.": ("training",),
    "Training language models and improving AI products": ("training",),
    "Data collection to support AI-powered products.": ("other",),
    "Training language models": ("training",),
    "Ostensibly only for sharing, but likely used as an AI crawler as well": ("other",),
    "AI model training.": ("training",),
    "We are using the data from the crawler to build datasets for machine learning experiments.": (
        "dataset",
    ),
    "Build and manage AI models for businesses employing Vertex AI": ("search",),
    "Used as part of AI apps developed by users of Google's Firebase AI products.": ("user-fetch",),
    "Scrapes data.": ("other",),
    "Scrapes data to train OpenAI's products.": ("training",),
    "Crawls sites to provide answers to user queries.": ("search",),
    "Scrapes data to train and support AI technologies.": ("training",),
    "ImageSiftBot is a web crawler that scrapes the internet for publicly available images to "
    "support their suite of web intelligence products": ("dataset",),
    "Scrapes images for use in LLMs.": ("dataset",),
    "Scrapes data to train machine learning models.": ("training",),
    "AI tools and models for machine learning research.": ("dataset",),
    "AI powered translation service": ("other",),
    "Used to train models and improve products.": ("training",),
    "Takes action based on user prompts.": ("user-fetch",),
    "Search result generation.": ("search",),
    "Data is sold.": ("dataset",),
    "Data collection and analysis using machine learning and AI.": ("dataset",),
    "Used to provide recommendations in Hauwei assistant and AI search services.": ("search",),
    "AI research crawler": ("other",),
    "Company offers AI detection, writing tools and other services.": ("other",),
    "Uses data gathered in AI development and information analysis.": ("training",),
    "Scrapes data for a variety of uses including training AI.": ("training",),
    "Crawls your site for ContentShake AI tool.": ("other",),
    "Checks URLs on your site for SEO Writing Assistant.": ("other",),
    "Extracts data for a variety of uses including training AI.": ("training",),
    "Insights on AI integration and automation.": ("other",),
    "Scrapes data for use in training LLMs.": ("training",),
    "Scrapes data for business data sets and machine learning models.": ("dataset",),
    "Live chat support and lead generation.": ("other",),
    "According to the [Meltwater Consumer Intelligence page]"
    "(https://www.meltwater.com/en/suite/consumer-intelligence) 'By applying AI, data science, and "
    "market research expertise to a live feed of global data sources, we transform unstructured "
    "data into actionable insights allowing better decision-making'.": ("other",),
    "Scrapes/analyzes data for the YandexGPT LLM.": ("training",),
    "Scrapes data for search engine and LLMs.": ("search",),
}


@dataclass(frozen=True, slots=True)
class Curation:
    """Our corrections of one agent (keyed by its canonical token)."""

    classes: tuple[str, ...] | None = None  # replaces the classes derived from `function`
    operator: str | None = None
    operator_url: str | None = None  # None: keep the URL the source gives
    control_only: bool = False
    note: str | None = None


OPENAI = ("OpenAI", "https://openai.com")
ANTHROPIC = ("Anthropic", "https://www.anthropic.com")
GOOGLE = ("Google", None)
META = ("Meta", "https://developers.facebook.com/docs/sharing/webmasters/web-crawlers")

# signals.md §3, token by token; plus operator names the source only gives as prose or a URL.
CURATION: dict[str, Curation] = {
    "GPTBot": Curation(("training",), *OPENAI, note="OpenAI's model-training crawler."),
    "OAI-SearchBot": Curation(("search",), *OPENAI, note="Search results in ChatGPT."),
    "ChatGPT-User": Curation(
        ("user-fetch",), *OPENAI, note="Fetches a page when a ChatGPT user asks for it."
    ),
    "ChatGPT Agent": Curation(
        ("agent",),
        *OPENAI,
        note="Browser agent. The name contains a space, so it is not a valid robots.txt product "
        "token; Google's parser reads a `User-agent: ChatGPT Agent` line as `ChatGPT`.",
    ),
    "Operator": Curation(("agent",), *OPENAI, note="OpenAI's browser agent."),
    "OpenAI": Curation(None, *OPENAI),
    "ClaudeBot": Curation(("training",), *ANTHROPIC, note="Anthropic's model-training crawler."),
    "Claude-SearchBot": Curation(("search",), *ANTHROPIC),
    "Claude-User": Curation(
        ("user-fetch",), *ANTHROPIC, note="Fetches a page when a Claude user asks for it."
    ),
    "anthropic-ai": Curation(
        ("training",), *ANTHROPIC, note="Legacy, undocumented token, still widely listed."
    ),
    "Claude-Web": Curation(
        ("unknown",), *ANTHROPIC, note="Legacy, undocumented token, still widely listed."
    ),
    "Google-Extended": Curation(
        ("control", "training"),
        *GOOGLE,
        control_only=True,
        note="Control token only: Google never sends it as a User-Agent. A robots.txt group for "
        "it governs whether content Googlebot fetched may train Gemini models and ground Gemini "
        "Apps and Vertex AI answers; it has no effect on Google Search.",
    ),
    "GoogleOther": Curation(("other",), *GOOGLE, note="Generic Google research fetching."),
    "GoogleOther-Image": Curation(("other",), *GOOGLE, note="Generic Google research fetching."),
    "GoogleOther-Video": Curation(("other",), *GOOGLE, note="Generic Google research fetching."),
    "Google-CloudVertexBot": Curation(
        ("search",), *GOOGLE, note="Crawls on the site owner's request to build Vertex AI agents."
    ),
    "Applebot": Curation(
        ("search",),
        "Apple",
        "https://support.apple.com/en-us/119829",
        note="Siri, Spotlight and Safari search; its data may train Apple's models unless "
        "Applebot-Extended is disallowed.",
    ),
    "Applebot-Extended": Curation(
        ("control", "training"),
        "Apple",
        "https://support.apple.com/en-us/119829",
        control_only=True,
        note="Control token only: Apple says it does not crawl. A robots.txt group for it "
        "governs whether content Applebot fetched may train Apple's generative AI models.",
    ),
    "CCBot": Curation(
        ("dataset",),
        "Common Crawl Foundation",
        "https://commoncrawl.org",
        note="Open web crawl used in most LLM training corpora.",
    ),
    "PerplexityBot": Curation(("search",), "Perplexity", "https://www.perplexity.ai/"),
    "Perplexity-User": Curation(
        ("user-fetch",),
        "Perplexity",
        "https://www.perplexity.ai/",
        note="Documented as not following robots.txt for user-initiated fetches.",
    ),
    "meta-externalagent": Curation(
        ("training",), *META, note="Training AI models and indexing content for Meta products."
    ),
    "meta-externalfetcher": Curation(
        ("user-fetch",), *META, note="Documented as possibly bypassing robots.txt."
    ),
    "meta-webindexer": Curation(None, *META),
    "FacebookBot": Curation(("training",), *META, note="Speech-model training (legacy)."),
    "facebookexternalhit": Curation(("other",), *META, note="Link previews for shared URLs."),
    "Amazonbot": Curation(
        ("search",),
        "Amazon",
        None,
        note="Alexa answers and unspecified service improvement.",
    ),
    "Bytespider": Curation(
        ("training",), "ByteDance", None, note="Listed as not respecting robots.txt."
    ),
    "TikTokSpider": Curation(("training",), "ByteDance", None),
    "cohere-ai": Curation(("user-fetch",), "Cohere", "https://cohere.com"),
    "cohere-training-data-crawler": Curation(("training",), "Cohere", "https://cohere.com"),
    "Diffbot": Curation(
        ("dataset",),
        "Diffbot",
        "https://www.diffbot.com/",
        note="Knowledge graph; robots.txt compliance is left to its customers.",
    ),
    "omgili": Curation(("dataset",), "Webz.io", "https://webz.io/", note="Data is sold."),
    "omgilibot": Curation(
        ("dataset",), "Webz.io", "https://webz.io/", note="Legacy token; data is sold."
    ),
    "Webzio-Extended": Curation(("dataset",), "Webz.io", "https://webz.io/", note="Data is sold."),
    "YouBot": Curation(("search",), "You.com", "https://about.you.com/youchat/"),
    "DuckAssistBot": Curation(("search",), "DuckDuckGo", None, note="AI-assisted answers."),
    "MistralAI-User": Curation(("user-fetch",), "Mistral AI", None),
    "DeepSeekBot": Curation(
        ("training",), "DeepSeek", None, note="Listed as not respecting robots.txt."
    ),
    "PetalBot": Curation(("search",), "Huawei", "https://huawei.com/"),
    "PanguBot": Curation(("training",), "Huawei", None),
    "YandexAdditional": Curation(("training",), "Yandex", "https://yandex.ru", note="YandexGPT."),
    "YandexAdditionalBot": Curation(
        ("training",), "Yandex", "https://yandex.ru", note="YandexGPT."
    ),
    "AI2Bot": Curation(
        ("training",),
        "Ai2",
        "https://allenai.org/crawler",
        note="The digit makes it an invalid RFC 9309 token; Google's parser reads a "
        "`User-agent: AI2Bot` line as `AI`.",
    ),
    "Ai2Bot-Dolma": Curation(
        ("training",),
        "Ai2",
        "https://allenai.org/crawler",
        note="The digit makes it an invalid RFC 9309 token.",
    ),
    "img2dataset": Curation(
        ("dataset",),
        "img2dataset (open source)",
        "https://github.com/rom1504/img2dataset",
        note="Image dataset download tool (LAION and others).",
    ),
    "LAIONDownloader": Curation(("dataset",), "LAION", None),
    "Timpibot": Curation(("training",), "Timpi", "https://timpi.io"),
    "ImagesiftBot": Curation(("dataset",), "ImageSift", "https://imagesift.com"),
    "Bravebot": Curation(
        ("search",), "Brave", "https://safe.search.brave.com/help/brave-search-crawler"
    ),
    "Brightbot": Curation(
        ("dataset", "training"), "Bright Data", "https://brightdata.com/brightbot"
    ),
    "Lightpanda": Curation(
        None,
        "Lightpanda users",
        None,
        note="A headless browser anyone can run; the User-Agent says nothing about who runs it.",
    ),
    "iaskspider": Curation(("search",), "iAsk", None),
    "TerraCotta": Curation(None, "Ceramic AI", "https://ceramic.ai/"),
}

# The tokens of the signals.md §3 table (their classes and notes above come from it).
SIGNALS_3_TOKENS: frozenset[str] = frozenset(
    {
        "GPTBot",
        "OAI-SearchBot",
        "ChatGPT-User",
        "Operator",
        "ClaudeBot",
        "Claude-SearchBot",
        "Claude-User",
        "anthropic-ai",
        "Claude-Web",
        "Google-Extended",
        "GoogleOther",
        "GoogleOther-Image",
        "GoogleOther-Video",
        "Google-CloudVertexBot",
        "Applebot",
        "Applebot-Extended",
        "CCBot",
        "PerplexityBot",
        "Perplexity-User",
        "meta-externalagent",
        "meta-externalfetcher",
        "FacebookBot",
        "facebookexternalhit",
        "Amazonbot",
        "Bytespider",
        "TikTokSpider",
        "cohere-ai",
        "cohere-training-data-crawler",
        "Diffbot",
        "omgili",
        "omgilibot",
        "Webzio-Extended",
        "YouBot",
        "DuckAssistBot",
        "MistralAI-User",
        "DeepSeekBot",
        "PetalBot",
        "PanguBot",
        "YandexAdditional",
        "YandexAdditionalBot",
        "AI2Bot",
        "Ai2Bot-Dolma",
        "img2dataset",
        "LAIONDownloader",
        "Timpibot",
        "ImagesiftBot",
        "Bravebot",
        "CloudflareBrowserRenderingCrawler",
        "ChatGPT Agent",
    }
)

# Entries the source lists under two names for one crawler, merged by hand (documented).
MERGE_INTO: dict[str, str] = {
    "Terra Cotta": "TerraCotta",  # same operator (Ceramic) and description; the spaced name is
    # not a valid product token
}

# Agents named in signals.md §3 that the source does not list.
EXTRA_AGENTS: tuple[dict[str, Any], ...] = (
    {
        "token": "CloudflareBrowserRenderingCrawler",
        "operator": "Cloudflare",
        "operator_url": None,
        "purposes": ["other"],
        "respects_robots": "unclear",
        "respects_robots_note": None,
        "function": "",
        "description": "Cloudflare Browser Rendering crawler, listed in Cloudflare's own managed "
        "robots.txt.",
        "note": None,
        "sources": [SOURCE_SIGNALS],
    },
)

# The short list a publisher's matrix shows, in display order.
WELL_KNOWN: tuple[str, ...] = (
    "GPTBot",
    "OAI-SearchBot",
    "ChatGPT-User",
    "ClaudeBot",
    "Claude-SearchBot",
    "Claude-User",
    "Google-Extended",
    "Applebot-Extended",
    "CCBot",
    "PerplexityBot",
    "Perplexity-User",
    "meta-externalagent",
    "Bytespider",
    "Amazonbot",
    "cohere-training-data-crawler",
)

# RFC 9309 §2.2.1: identifier = 1*(%x2D / %x41-5A / %x5F / %x61-7A)
_IDENTIFIER = re.compile(r"[A-Za-z_-]+")
# "Brightbot 1.0", "MistralAI-User/1.0": a token followed by a version
_VERSIONED = re.compile(r"([A-Za-z_-]+)[ /]v?[0-9][0-9.]*")
# "panscient.com": a token followed by a domain suffix
_DOMAIN = re.compile(r"([A-Za-z_-]+)\.[a-z]{2,}")
_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_UNCLEAR = {"", "unclear at this time.", "unclear at this time", "unknown"}


def is_identifier(token: str) -> bool:
    return _IDENTIFIER.fullmatch(token) is not None


def _informative(value: str) -> bool:
    return value.strip().lower() not in _UNCLEAR


def _plain(text: str) -> str:
    """Markdown links as "text (url)"."""
    return _MD_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text).strip()


def _operator(text: str) -> tuple[str | None, str | None]:
    """The operator's name and URL from the source's markdown or prose."""
    text = text.strip()
    if not _informative(text):
        return None, None
    link = _MD_LINK.fullmatch(text)
    if link:
        return link.group(1).strip(), link.group(2)
    if text.startswith(("http://", "https://")):
        return None, text
    # Known Agents prose: "Cohere to download training data ...", "Querit, a company ..."
    cut = len(text)
    for marker in (" that ", ", ", " to ", " (", ". "):
        at = text.find(marker)
        if at > 0:
            cut = min(cut, at)
    name = text[:cut].strip()
    return (name or None), None


def _respect(text: str) -> tuple[str, str | None]:
    """(yes | no | depends | unclear, the source's wording when it says more than one word)."""
    plain = _plain(text)
    word = plain.lower()
    if word.startswith("yes"):
        value = "yes"
    elif word.startswith("no"):
        value = "no"
    elif "discretion" in word:
        value = "depends"
    else:
        value = "unclear"
    bare = plain.rstrip(".").lower() in {"yes", "no", "unclear at this time"}
    return value, (None if bare else plain)


def _canonical_key(key: str, valid_lower: Mapping[str, str]) -> tuple[str, bool]:
    """The token an entry is filed under, and whether it was reduced from the key."""
    if key in MERGE_INTO:
        return MERGE_INTO[key], True
    if is_identifier(key):
        return key, False
    versioned = _VERSIONED.fullmatch(key)
    if versioned:
        base = versioned.group(1)
        return valid_lower.get(base.lower(), base), True
    domain = _DOMAIN.fullmatch(key)
    if domain and domain.group(1).lower() in valid_lower:
        return valid_lower[domain.group(1).lower()], True
    return key, False


def _check_tables(source: Mapping[str, Mapping[str, str]]) -> None:
    unknown_functions = sorted({e["function"] for e in source.values()} - set(FUNCTION_CLASSES))
    if unknown_functions:
        raise SystemExit(
            f"unmapped `function` values, add them to FUNCTION_CLASSES: {unknown_functions}"
        )
    bad_classes = {c for cs in FUNCTION_CLASSES.values() for c in cs if c not in CLASSES} | {
        c for cur in CURATION.values() for c in (cur.classes or ()) if c not in CLASSES
    }
    if bad_classes:
        raise SystemExit(f"unknown classes: {sorted(bad_classes)}")


def build(source: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The registry document for one parsed ``robots.json``."""
    _check_tables(source)
    valid_lower = {k.lower(): k for k in source if is_identifier(k)}
    # group the source's keys by the canonical token they resolve to (case-insensitive)
    groups: dict[str, list[str]] = {}
    canonical_spelling: dict[str, str] = {}
    for key in source:
        canonical, _ = _canonical_key(key, valid_lower)
        low = canonical.lower()
        groups.setdefault(low, []).append(key)
        canonical_spelling.setdefault(low, canonical)

    agents: list[dict[str, Any]] = []
    for low, keys in groups.items():
        token = canonical_spelling[low]
        # the entry spelled exactly like the token first, then the others in source order
        keys.sort(key=lambda k: k != token)
        entries = [source[k] for k in keys]
        curation = CURATION.get(token, Curation())

        def first(field: str, entries: list[Mapping[str, str]] = entries) -> str:
            return next((e[field] for e in entries if _informative(e[field])), entries[0][field])

        operator, operator_url = None, None
        for entry in entries:
            name, url = _operator(entry["operator"])
            operator = operator or name
            operator_url = operator_url or url
        if curation.operator is not None:
            operator = curation.operator
            operator_url = curation.operator_url or operator_url
        if curation.classes is not None:
            classes = set(curation.classes)
        else:
            classes = {c for e in entries for c in FUNCTION_CLASSES[e["function"]]}
        respects, respects_note = _respect(first("respect"))
        agents.append(
            {
                "token": token,
                "aliases": sorted({k for k in keys if k != token}, key=str.lower),
                "valid_token": is_identifier(token),
                "operator": operator,
                "operator_url": operator_url,
                "purposes": sorted(classes),
                "control_only": curation.control_only,
                "respects_robots": respects,
                "respects_robots_note": respects_note,
                "function": _plain(first("function")),
                "description": _plain(first("description")),
                "note": curation.note,
                "well_known": token in WELL_KNOWN,
                "sources": [SOURCE_AI_ROBOTS_TXT]
                + ([SOURCE_SIGNALS] if token in SIGNALS_3_TOKENS else []),
            }
        )
    for extra in EXTRA_AGENTS:
        if extra["token"].lower() in groups:
            raise SystemExit(f"{extra['token']} is now in the source: drop it from EXTRA_AGENTS")
        agents.append(
            {
                "token": extra["token"],
                "aliases": [],
                "valid_token": is_identifier(extra["token"]),
                "operator": extra["operator"],
                "operator_url": extra["operator_url"],
                "purposes": sorted(extra["purposes"]),
                "control_only": False,
                "respects_robots": extra["respects_robots"],
                "respects_robots_note": extra["respects_robots_note"],
                "function": extra["function"],
                "description": extra["description"],
                "note": extra["note"],
                "well_known": extra["token"] in WELL_KNOWN,
                "sources": list(extra["sources"]),
            }
        )
    agents.sort(key=lambda a: (a["token"].lower(), a["token"]))
    tokens = {a["token"] for a in agents}
    missing = [t for t in (*WELL_KNOWN, *CURATION, *SIGNALS_3_TOKENS) if t not in tokens]
    if missing:
        raise SystemExit(f"curated tokens not in the registry: {missing}")
    return {
        "schema": SCHEMA,
        "generated_by": "tools/build_agents.py",
        "sources": SOURCES,
        "classes": CLASSES,
        "well_known": list(WELL_KNOWN),
        "agents": agents,
    }


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(list(argv) if argv is not None else None)
    text = render(build(json.loads(args.source.read_text(encoding="utf-8"))))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run tools/build_agents.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
