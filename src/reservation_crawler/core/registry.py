"""Which registrations apply to a URL and to a content hash: the registry's in-memory index.

Pure (no I/O): built from registrations, updated by batches of changed ones (what a store's
"changes since seq" returns). A lookup costs a few dict reads -- exact URL, one per distinct
prefix length registered on the URL's origin, the origin, the hash -- never a scan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reservation_crawler.model.findings import Finding, FindingSpec, Severity
from reservation_crawler.model.record import Decision, Evidence
from reservation_crawler.model.registry import Registration, Status, TargetKind, split_url

__all__ = [
    "CLAIMED_RESERVES",
    "DEFAULT_REFRESH",
    "REGISTRY_CLAIMED",
    "RegistryIndex",
    "registry_evidence",
    "registry_findings",
]

DEFAULT_REFRESH = 30.0  # seconds between two reads of a store's changes by a long-running reader

# Permission first: an unverified "no" is not a "yes". An operator who only honours verified
# registrations passes claimed_reserves=False (a claimed one is then evidence without effect).
CLAIMED_RESERVES = True

REGISTRY_CLAIMED = FindingSpec(
    code="registry.claimed",
    severity=Severity.INFO,
    source="registry",
    title="a registry entry covers this URL but its registrant has not proved control",
    explanation=(
        "Someone registered a reservation for this URL, its prefix, its origin or the bytes "
        "served, without (yet) proving control of the origin. By default it still reserves: an "
        "unverified opt-out is not a permission. A hash claim is always of this kind."
    ),
    fix=(
        "Registrant: serve the verification token (reservation-crawler registry verify). "
        "Publisher who disagrees: contact the registry operator."
    ),
    example="registry add --origin https://example.com --contact me@example.com",
)


def registry_evidence(
    agent: str, registrations: Sequence[Registration], *, claimed_reserves: bool = CLAIMED_RESERVES
) -> list[Evidence]:
    """One row per registration that speaks to ``agent`` (the registrations already match the
    URL or the bytes): verified ones reserve their purposes like the publisher's own signal;
    claimed ones reserve when ``claimed_reserves``, else are evidence with no effect."""
    rows = []
    for r in registrations:
        if not r.active or not r.applies_to_agent(agent):
            continue
        reserves = r.status is Status.VERIFIED or claimed_reserves
        rows.append(
            Evidence(
                agent,
                r.purposes,
                Decision.RESERVED if reserves else Decision.UNSPECIFIED,
                "registry",
                "registry",
                "*" if "*" in r.agents else agent,
                f"{r.status} registration {r.id}: {r.target.kind} {r.target.value} "
                f"(created {r.created_at}, updated {r.updated_at})",
                None,
                f"registry:{r.id}",
            )
        )
    return rows


def registry_findings(registrations: Sequence[Registration]) -> list[Finding]:
    """registry.claimed for each active, unverified registration that matched."""
    return [
        REGISTRY_CLAIMED(
            f"claimed (unverified) registration {r.id} covers this "
            f"{'content' if r.target.kind is TargetKind.SHA256 else r.target.kind}",
            location=f"registry:{r.id}",
        )
        for r in registrations
        if r.status is Status.CLAIMED
    ]


class RegistryIndex:
    """Active (not withdrawn) registrations by exact URL, prefix, origin and SHA-256.

    Mutable on purpose: :meth:`apply` folds in a batch of changes so a long-running reader
    refreshes incrementally. ``seq`` is the highest change number applied.
    """

    __slots__ = (
        "_by_id",
        "_exact",
        "_hashes",
        "_origins",
        "_prefix_lengths",
        "_prefixes",
        "_seqs",
        "seq",
    )

    def __init__(self, registrations: Iterable[Registration] = ()) -> None:
        self._by_id: dict[str, Registration] = {}
        self._exact: dict[str, dict[str, Registration]] = {}
        self._origins: dict[str, dict[str, Registration]] = {}
        self._hashes: dict[str, dict[str, Registration]] = {}
        # origin -> path+query prefix -> id -> registration; and the distinct prefix lengths
        # per origin, longest first, so a lookup tries each length once.
        self._prefixes: dict[str, dict[str, dict[str, Registration]]] = {}
        self._prefix_lengths: dict[str, list[int]] = {}
        self._seqs: dict[str, int] = {}  # every id seen, withdrawn ones too: late copies lose
        self.seq = 0
        self.apply(registrations)

    def copy(self) -> RegistryIndex:
        """An independent index with the same content (readers of the old one are unaffected)."""
        twin = RegistryIndex(self._by_id.values())
        twin._seqs = dict(self._seqs)
        twin.seq = self.seq
        return twin

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, registration_id: str) -> Registration | None:
        return self._by_id.get(registration_id)

    def apply(self, changes: Iterable[Registration]) -> None:
        """Fold in changed registrations (new, updated or withdrawn), in any order."""
        for new in changes:
            self.seq = max(self.seq, new.seq)
            if self._seqs.get(new.id, -1) > new.seq:  # an older copy arriving late
                continue
            self._seqs[new.id] = new.seq
            old = self._by_id.get(new.id)
            if old is not None:
                self._remove(old)
            if new.active:
                self._add(new)

    def matching(self, url: str, sha256: str | None = None) -> tuple[Registration, ...]:
        """The registrations that cover ``url`` (exact, prefixes longest first, origin) or the
        bytes whose SHA-256 is ``sha256``, each once, in that order."""
        try:
            origin, rest = split_url(url)
        except ValueError:
            origin = rest = ""
        return self.matching_at(origin, rest, sha256)

    def matching_at(
        self, origin: str, rest: str, sha256: str | None = None
    ) -> tuple[Registration, ...]:
        """:meth:`matching` for a URL already split into its normalized origin and its
        path+query (a caller that has them, the Checker, saves parsing the URL again)."""
        if not self._by_id:
            return ()
        if rest[:1] != "/":
            rest = "/" + rest
        # Every crawled URL comes through here and almost none is covered: the buckets found are
        # collected first, and a result built only when there is one.
        buckets = []
        if origin:
            bucket = self._exact.get(origin + rest) if self._exact else None
            if bucket:
                buckets.append(bucket)
            by_prefix = self._prefixes.get(origin)
            if by_prefix is not None:
                for length in self._prefix_lengths[origin]:
                    if length <= len(rest):
                        bucket = by_prefix.get(rest[:length])
                        if bucket:
                            buckets.append(bucket)
            bucket = self._origins.get(origin)
            if bucket:
                buckets.append(bucket)
        if sha256:
            bucket = self._hashes.get(sha256.lower())
            if bucket:
                buckets.append(bucket)
        if not buckets:
            return ()
        found: dict[str, Registration] = {}
        for bucket in buckets:
            found.update(bucket)
        return tuple(found.values())

    def _slot(self, registration: Registration) -> tuple[dict[str, dict[str, Registration]], str]:
        target = registration.target
        if target.kind is TargetKind.URL:
            return self._exact, target.value
        if target.kind is TargetKind.ORIGIN:
            return self._origins, target.value
        if target.kind is TargetKind.SHA256:
            return self._hashes, target.value
        origin, rest = split_url(target.value)
        return self._prefixes.setdefault(origin, {}), rest

    def _add(self, registration: Registration) -> None:
        self._by_id[registration.id] = registration
        table, key = self._slot(registration)
        table.setdefault(key, {})[registration.id] = registration
        if registration.target.kind is TargetKind.PREFIX:
            origin = registration.target.origin or ""
            lengths = self._prefix_lengths.setdefault(origin, [])
            if len(key) not in lengths:
                lengths.append(len(key))
                lengths.sort(reverse=True)

    def _remove(self, registration: Registration) -> None:
        del self._by_id[registration.id]
        table, key = self._slot(registration)
        bucket = table.get(key, {})
        bucket.pop(registration.id, None)
        if bucket:
            return
        table.pop(key, None)
        if registration.target.kind is TargetKind.PREFIX:
            origin = registration.target.origin or ""
            if not any(len(k) == len(key) for k in table):
                self._prefix_lengths[origin].remove(len(key))
            if not table:
                del self._prefixes[origin]
                del self._prefix_lengths[origin]
