"""The AI agent registry: built from ai.robots.txt + signals.md §3, looked up case-insensitively."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from reservation_crawler.signals import agents
from reservation_crawler.signals.agents import (
    AGENT_CLASSES,
    all_agents,
    get_agent,
    is_valid_product_token,
    well_known_agents,
)

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PATH = ROOT / "tests" / "data" / "agents" / "ai-robots-txt.json"
SOURCE = json.loads(SOURCE_PATH.read_text("utf-8"))
DATA_FILE = ROOT / "src" / "reservation_crawler" / "signals" / "data" / "agents.json"


def _load_builder():
    spec = importlib.util.spec_from_file_location(
        "build_agents", ROOT / "tools" / "build_agents.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build_agents = _load_builder()


def names(agent: agents.AiAgent) -> set[str]:
    return {agent.token.casefold(), *(alias.casefold() for alias in agent.aliases)}


# --- the data file is what the build script makes ------------------------------------------------


def test_data_file_is_reproducible():
    expected = build_agents.render(build_agents.build(SOURCE))
    assert DATA_FILE.read_text("utf-8") == expected, "run: python tools/build_agents.py"


def test_build_check_mode(tmp_path):
    out = tmp_path / "agents.json"
    args = ["--source", str(SOURCE_PATH), "--output", str(out)]
    assert build_agents.main([*args, "--check"]) == 1  # missing file
    assert build_agents.main(args) == 0
    assert build_agents.main([*args, "--check"]) == 0
    out.write_text(out.read_text("utf-8").replace("GPTBot", "GPTBot2"), "utf-8")
    assert build_agents.main([*args, "--check"]) == 1


def test_build_rejects_an_unmapped_function():
    source = dict(SOURCE)
    source["NewBot"] = {**SOURCE["GPTBot"], "function": "Something nobody has classified."}
    with pytest.raises(SystemExit):
        build_agents.build(source)


# --- every source entry resolves -----------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SOURCE, key=str.lower))
def test_every_source_agent_resolves_case_insensitively(key):
    found = {get_agent(spelling) for spelling in (key, key.lower(), key.upper(), key.swapcase())}
    assert len(found) == 1
    (agent,) = found
    assert agent is not None and key.casefold() in names(agent)


def test_no_duplicate_names():
    seen: dict[str, str] = {}
    for agent in all_agents():
        for name in names(agent):
            assert name not in seen, (name, agent.token, seen.get(name))
            seen[name] = agent.token


def test_every_source_entry_is_kept_or_merged():
    covered = set().union(*(names(agent) for agent in all_agents()))
    assert {key.casefold() for key in SOURCE} <= covered
    # 166 entries: 3 case-only duplicates, 3 versioned names, 2 domain names and one hand merge
    # fold into other entries; signals.md §3 adds one agent the source does not list.
    assert len(all_agents()) == len(SOURCE) - 3 - 3 - 2 - 1 + 1


@pytest.mark.parametrize(
    ("spelling", "token"),
    [
        ("Meta-ExternalAgent", "meta-externalagent"),  # case-only duplicate
        ("Meta-ExternalFetcher", "meta-externalfetcher"),
        ("webzio-extended", "Webzio-Extended"),
        ("Brightbot 1.0", "Brightbot"),  # version reduced to the product token
        ("MistralAI-User/1.0", "MistralAI-User"),
        ("iaskspider/2.0", "iaskspider"),
        ("panscient.com", "Panscient"),  # domain form of an existing token
        ("quillbot.com", "QuillBot"),
        ("Terra Cotta", "TerraCotta"),  # curated merge
    ],
)
def test_cleaned_names_resolve_to_their_product_token(spelling, token):
    agent = get_agent(spelling)
    assert agent is not None and agent.token == token
    assert spelling in agent.aliases
    assert agent.valid_token


def test_merged_entry_keeps_the_informative_fields():
    # "Brightbot" has no operator in the source, "Brightbot 1.0" names Bright Data's page
    brightbot = get_agent("Brightbot")
    assert brightbot.operator_url == "https://brightdata.com/brightbot"
    assert {"dataset", "training"} <= brightbot.purposes  # both entries' functions


@pytest.mark.parametrize(
    "token",
    ["AI2Bot", "Ai2Bot-Dolma", "ChatGPT Agent", "img2dataset", "Crawl4AI", "Kangaroo Bot",
     "bigsur.ai"],
)  # fmt: skip
def test_invalid_tokens_are_kept_and_flagged(token):
    agent = get_agent(token)
    assert agent is not None and agent.token == token
    assert agent.valid_token is False


def test_valid_token_flag_is_the_rfc9309_grammar():
    for agent in all_agents():
        assert agent.valid_token == is_valid_product_token(agent.token), agent.token
    invalid_source_keys = [key for key in SOURCE if not is_valid_product_token(key)]
    assert len(invalid_source_keys) == 21  # signals.md §3


@pytest.mark.parametrize(
    ("token", "valid"),
    [("GPTBot", True), ("meta-externalagent", True), ("Factset_spyderbot", True), ("*", False),
     ("AI2Bot", False), ("Brightbot 1.0", False), ("GPTBot/1.0", False), ("", False),
     ("panscient.com", False)],
)  # fmt: skip
def test_rfc9309_product_token_grammar(token, valid):
    assert is_valid_product_token(token) is valid


# --- lookups -------------------------------------------------------------------------------------


def test_lookup_tolerates_whitespace_and_versions():
    assert get_agent("  gptbot ").token == "GPTBot"
    assert get_agent("GPTBot/1.2").token == "GPTBot"
    assert get_agent("ClaudeBot/1.0; +claudebot@anthropic.com").token == "ClaudeBot"


@pytest.mark.parametrize("token", ["", "*", "NoSuchBot", "Googlebot", "GPT", "Mozilla/5.0"])
def test_unknown_token_is_none(token):
    assert get_agent(token) is None


def test_registry_is_parsed_once():
    agents._registry.cache_clear()
    get_agent("GPTBot")
    all_agents()
    well_known_agents()
    get_agent("CCBot")
    assert agents._registry.cache_info().misses == 1
    assert all_agents() is all_agents()


# --- facts from signals.md §3 --------------------------------------------------------------------


def test_control_only_tokens():
    control = {agent.token for agent in all_agents() if agent.control_only}
    assert control == {"Google-Extended", "Applebot-Extended"}
    for token in control:
        agent = get_agent(token)
        assert "control" in agent.purposes and "training" in agent.purposes
        assert agent.note and ("never" in agent.note or "not crawl" in agent.note)


def test_only_control_only_agents_have_the_control_class():
    for agent in all_agents():
        assert ("control" in agent.purposes) == agent.control_only, agent.token


# Class / purpose column of the signals.md §3 table (T training, S search, U user-initiated
# fetch, A agent, C control, D dataset).
SIGNALS_3 = {
    "GPTBot": "training",
    "OAI-SearchBot": "search",
    "ChatGPT-User": "user-fetch",
    "ChatGPT Agent": "agent",
    "Operator": "agent",
    "ClaudeBot": "training",
    "Claude-SearchBot": "search",
    "Claude-User": "user-fetch",
    "Google-Extended": "control",
    "Applebot": "search",
    "Applebot-Extended": "control",
    "CCBot": "dataset",
    "PerplexityBot": "search",
    "Perplexity-User": "user-fetch",
    "meta-externalagent": "training",
    "meta-externalfetcher": "user-fetch",
    "Amazonbot": "search",
    "Bytespider": "training",
    "TikTokSpider": "training",
    "cohere-ai": "user-fetch",
    "cohere-training-data-crawler": "training",
    "Diffbot": "dataset",
    "omgili": "dataset",
    "omgilibot": "dataset",
    "Webzio-Extended": "dataset",
    "YouBot": "search",
    "DuckAssistBot": "search",
    "MistralAI-User": "user-fetch",
    "DeepSeekBot": "training",
    "PetalBot": "search",
    "PanguBot": "training",
    "YandexAdditional": "training",
    "YandexAdditionalBot": "training",
    "AI2Bot": "training",
    "Ai2Bot-Dolma": "training",
    "img2dataset": "dataset",
    "LAIONDownloader": "dataset",
    "Timpibot": "training",
    "ImagesiftBot": "dataset",
    "Bravebot": "search",
}


@pytest.mark.parametrize(("token", "purpose"), sorted(SIGNALS_3.items()))
def test_signals3_classes(token, purpose):
    agent = get_agent(token)
    assert agent is not None and purpose in agent.purposes
    assert "signals-3" in agent.sources


@pytest.mark.parametrize(
    ("token", "respects"),
    [("Perplexity-User", "no"), ("meta-externalfetcher", "no"), ("Bytespider", "no"),
     ("DeepSeekBot", "no"), ("GPTBot", "yes"), ("ClaudeBot", "yes"), ("Diffbot", "depends"),
     ("Timpibot", "unclear")],
)  # fmt: skip
def test_respects_robots_from_the_source(token, respects):
    assert get_agent(token).respects_robots == respects


def test_signals3_agent_missing_from_the_source_is_added():
    agent = get_agent("CloudflareBrowserRenderingCrawler")
    assert agent is not None and agent.operator == "Cloudflare"
    assert agent.sources == ("signals-3",)


def test_operators_are_names_not_markdown_or_sentences():
    for agent in all_agents():
        if agent.operator is None:
            continue
        assert "](" not in agent.operator and " that " not in agent.operator, agent.operator
        assert len(agent.operator) <= 40, agent.operator
    assert get_agent("GPTBot").operator == "OpenAI"
    assert get_agent("cohere-training-data-crawler").operator == "Cohere"  # source: a sentence
    assert get_agent("AddSearchBot").operator is None  # "Unclear at this time."


def test_every_agent_has_known_classes():
    for agent in all_agents():
        assert agent.purposes and agent.purposes <= AGENT_CLASSES, agent.token
        assert agent.respects_robots in {"yes", "no", "depends", "unclear"}


# --- the publisher's short list ------------------------------------------------------------------


def test_well_known_agents():
    short = well_known_agents()
    tokens = [agent.token for agent in short]
    assert 12 <= len(short) <= 20 and len(set(tokens)) == len(tokens)
    for required in (
        "GPTBot", "OAI-SearchBot", "ChatGPT-User", "ClaudeBot", "Claude-SearchBot",
        "Claude-User", "Google-Extended", "Applebot-Extended", "CCBot", "PerplexityBot",
        "meta-externalagent", "Bytespider", "Amazonbot", "cohere-training-data-crawler",
    ):  # fmt: skip
        assert required in tokens
    assert all(agent.well_known and agent.valid_token for agent in short)
    assert {a.token for a in all_agents() if a.well_known} == set(tokens)
