"""The audit log's sinks: JSON Lines files rotated by size, and Redis Streams (docs/audit.md).

A sink takes (time, verdict, policy) from the checker and appends hash-chained entries
(``core/audit.py``) from one background writer thread, in batches. A check only appends to a
bounded deque; when it is full the entry is dropped and counted (:attr:`AuditSink.dropped`),
never silently. With ``required`` the check waits until its entry is durable (fsynced, or
acknowledged by Redis) before its verdict is returned.

With ``process=True`` the chaining, hashing and writing run in a child process (the "writer
process"): the checking process only hands each batch over, pickled, so the hashing does not
compete for its GIL (docs/audit.md, "Performance").
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import marshal
import multiprocessing
import os
import pickle
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from reservation_crawler._version import APP_NAME, PRODUCT_TOKEN
from reservation_crawler.core import audit
from reservation_crawler.core.policy import OriginPolicy
from reservation_crawler.errors import AuditUnavailable, ConfigError
from reservation_crawler.model.record import Decision, Purpose

__all__ = [
    "DEFAULT_MAX_BYTES",
    "AuditSink",
    "Decided",
    "JsonlSink",
    "RedisStreamSink",
    "default_chains",
    "default_root",
    "read_files",
    "read_streams",
]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_QUEUE = 100_000
DEFAULT_BATCH = 1_000
FILE_NAME = re.compile(r"^audit-(\d{6})\.jsonl$")
STREAM_PREFIX = "rc:v1:audit:"
WRITERS_KEY = "rc:v1:audit:writers"


class Decided(NamedTuple):
    """What an entry needs of a decision (a lookup ``Verdict`` has the same fields)."""

    url: str
    agent: str
    purpose: Purpose
    decision: Decision
    evidence: tuple[Any, ...]
    level: str


class _Pending:
    """A required entry's rendezvous: the writer sets it once the entry is durable."""

    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None


class AuditSink:
    """What both sinks share: the queue, the writer thread, the chain, the encoding caches.

    ``operator`` and ``token`` name the caller in every entry. ``fsync``: ``"batch"`` (default:
    each batch is made durable before the next is taken) or ``"rotate"`` (files only: durable
    on rotation and close; a crash of the machine may lose the last seconds).
    """

    def __init__(
        self,
        *,
        operator: str = "",
        token: str = PRODUCT_TOKEN,
        queue_size: int = DEFAULT_QUEUE,
        batch_size: int = DEFAULT_BATCH,
        interval: float = 0.05,
        fsync: str = "batch",
        process: bool = False,
        _in_child: bool = False,
    ) -> None:
        if queue_size < 1 or batch_size < 1 or interval <= 0:
            raise ConfigError("queue_size and batch_size must be >= 1, interval > 0")
        if fsync not in ("batch", "rotate"):
            raise ConfigError(f"fsync must be 'batch' or 'rotate', not {fsync!r}")
        self.operator = operator
        self.token = token
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.interval = interval
        self.fsync = fsync
        self.dropped = 0  # entries not logged: the queue was full, or the writer had failed
        self.written = 0
        self.error: BaseException | None = None  # the writer's failure, re-raised to callers
        self._queue: collections.deque[tuple[Any, ...]] = collections.deque()
        self._wake = threading.Event()
        self._drop_lock = threading.Lock()
        self._closing = False
        self._caller = audit.caller_json(operator, token)
        self._evidence: dict[int, tuple[object, str, str]] = {}
        self._policies: dict[int, tuple[object, str, str | None]] = {}
        self._quoted: dict[Any, str] = {}  # agents, purposes, decisions, levels: few values
        self._head = audit.GENESIS
        self._second = -1
        self._stamp = ""
        self._thread: threading.Thread | None = None
        self.process = process and not _in_child
        self._in_child = _in_child
        self._child: tuple[Any, Any] | None = None  # (Process, Connection) with ``process``

    def _child_options(self) -> dict[str, Any]:
        """What the writer process's own sink is built with (it does the chaining and I/O)."""
        return {"operator": self.operator, "token": self.token, "fsync": self.fsync}

    # -- the checker's side (hot path: an append, nothing else)

    def record(self, verdict: Any, policy: OriginPolicy | None, required: bool = False) -> None:
        """Queue the entry of ``verdict`` (answered from ``policy``); with ``required``, wait
        until it is durable (AuditUnavailable if it cannot be)."""
        if self.error is not None:
            raise AuditUnavailable(f"the audit writer failed: {self.error}") from self.error
        if not required:
            if len(self._queue) >= self.queue_size:
                with self._drop_lock:  # checks run in many threads: count every drop
                    self.dropped += 1
                return
            self._queue.append((time.time(), verdict, policy, None))
            return
        pending = _Pending()
        self._queue.append((time.time(), verdict, policy, pending))
        self._wake.set()
        pending.done.wait()
        if pending.error is not None:
            raise AuditUnavailable(f"audit entry not written: {pending.error}") from pending.error

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything queued so far is durable."""
        self.record_marker(timeout)

    def record_marker(self, timeout: float) -> None:
        pending = _Pending()
        self._queue.append((0.0, None, None, pending))
        self._wake.set()
        if not pending.done.wait(timeout):
            raise AuditUnavailable("the audit writer did not flush in time")
        if pending.error is not None:
            raise AuditUnavailable(f"audit flush failed: {pending.error}") from pending.error

    def stats(self) -> dict[str, int]:
        return {"written": self.written, "dropped": self.dropped, "queued": len(self._queue)}

    def close(self) -> None:
        """Write what is queued, make it durable, stop the writer."""
        if self._thread is None:
            return
        self._closing = True
        self._wake.set()
        self._thread.join()
        self._thread = None
        if self._child is not None:
            self._stop_child()
        else:
            self._close_io()

    def __enter__(self) -> AuditSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the writer thread

    def _start(self) -> None:
        if self._in_child:  # the writer process's sink: batches come from the pipe
            return
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def _spawn(self, cls: type[AuditSink], args: tuple[Any, ...], options: dict[str, Any]) -> None:
        """Start the writer process (spawned: no inherited threads or locks) and wait until its
        sink is open; its error (a held lock, an unreachable Redis) is raised here."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        child = context.Process(
            target=_writer_process,
            args=(theirs, cls, args, {**options, "_in_child": True}),
            name="audit-writer",
            daemon=True,
        )
        child.start()
        theirs.close()
        try:
            status, detail = ours.recv() if ours.poll(120) else ("failed", None)
        except EOFError:
            status, detail = "failed", None
        if status != "ready":
            child.join(5)
            if isinstance(detail, BaseException):
                raise detail
            raise AuditUnavailable("the audit writer process did not start")
        self._child = (child, ours)
        self._start()

    def _hand_over(self, items: list[tuple[Any, ...]], sync: bool) -> int:
        """Send a prepared batch to the writer process; wait until it is written (and durable
        when ``sync``). The number written; the process's error is raised here."""
        assert self._child is not None
        child, conn = self._child
        try:
            # marshal, not pickle: plain tuples of str/float/bool, written faster and without
            # running code when read.
            conn.send_bytes(marshal.dumps((items, sync)))
            status, detail = conn.recv()
        except (EOFError, OSError) as exc:
            raise AuditUnavailable(
                f"the audit writer process ended (exit code {child.exitcode})"
            ) from exc
        if status != "ok":
            raise detail if isinstance(detail, BaseException) else AuditUnavailable(str(detail))
        return int(detail)

    def _stop_child(self) -> None:
        assert self._child is not None
        child, conn = self._child
        self._child = None
        try:
            conn.send_bytes(b"")
            conn.recv()
        except (EOFError, OSError):
            pass  # it is gone already: what it acknowledged was durable
        conn.close()
        child.join(30)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            closing = self._closing
            queue, take = self._queue, self._queue.popleft
            while queue:
                # Only this thread takes from the queue, so len() is a lower bound.
                batch = [take() for _ in range(min(len(queue), self.batch_size))]
                self._write_batch(batch)
            if closing:
                return

    def _write_batch(self, batch: list[tuple[Any, ...]]) -> None:
        pendings = [item[3] for item in batch if item[3] is not None]
        if self.error is not None:  # the chain's head is uncertain: write nothing more
            with self._drop_lock:  # queued before the failure, never written: count them
                self.dropped += len(batch) - len(pendings)
            for p in pendings:
                p.error = self.error
                p.done.set()
            return
        try:
            items = self._prepare(batch)
            sync = self.fsync == "batch" or bool(pendings)
            if self._child is not None:
                self.written += self._hand_over(items, sync)
            else:
                if items:
                    self._append(items)
                if sync:
                    self._sync()
                self.written += len(items)
        except Exception as exc:  # the writer must not die silently: callers see it
            self.error = exc
            with self._drop_lock:  # this batch's unrequired entries are lost: count them
                self.dropped += len(batch) - len(pendings)
            for p in pendings:
                p.error = exc
        for p in pendings:
            p.done.set()

    def _prepare(self, batch: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Each entry's parts as plain values (str, float), the evidence and policy JSON cached
        by identity: all the checking process does per entry with the writer process (the rest
        is :meth:`_line`, in the writer). One loop, locals only: this is the hot path."""
        evidences, policies = self._evidence, self._policies
        evidence_json, registry_json, policy_json = (
            audit.evidence_json,
            audit.registry_json,
            audit.policy_json,
        )
        out: list[tuple[Any, ...]] = []
        add = out.append
        for ts, verdict, policy, _ in batch:
            if verdict is None:  # a flush marker
                continue
            evidence = verdict.evidence
            cached = evidences.get(id(evidence))
            if cached is None or cached[0] is not evidence:
                if len(evidences) > 4096:
                    evidences.clear()
                cached = (evidence, evidence_json(evidence), registry_json(evidence))
                evidences[id(evidence)] = cached
            pcached = policies.get(id(policy))
            if pcached is None or pcached[0] is not policy:
                if len(policies) > 4096:
                    policies.clear()
                origin = audit.quote(policy.origin) if policy is not None else None
                pcached = (policy, policy_json(policy), origin)
                policies[id(policy)] = pcached
            add(
                (
                    ts,
                    verdict.url,
                    verdict.agent,
                    # An exact str: marshal takes no enum (str() is C-level here; .value and
                    # an Enum's __hash__ are Python-level, several times slower).
                    str(verdict.purpose),
                    str(verdict.decision),
                    verdict.level,
                    cached[1],
                    cached[2],
                    pcached[1],
                    pcached[2],
                )
            )
        return out

    def _line(
        self,
        ts: float,
        url: str,
        agent: str,
        purpose: str,
        decision: str,
        level: str,
        evidence: str,
        registry: str,
        policy: str,
        origin: str | None,
    ) -> str:
        """The sealed line of a prepared entry; the chain's head moves to it."""
        second = int(ts)
        if second != self._second:  # the formatted second, reused: datetime is slow
            self._second, self._stamp = second, audit.iso_time(second)[:-5]
        quoted = self._quoted
        quoted_url = audit.quote(url)
        body = audit.check_body(
            time=f"{self._stamp}.{int((ts - second) * 1000):03d}Z",
            caller=self._caller,
            url=quoted_url,
            origin=origin if origin is not None else quoted_url,
            agent=quoted.get(agent) or self._quote(agent),
            purpose=quoted.get(purpose) or self._quote(purpose),
            decision=quoted.get(decision) or self._quote(decision),
            level=quoted.get(level) or self._quote(level),
            evidence=evidence,
            policy=policy,
            registry=registry,
            prev=self._head,
        )
        line, self._head = audit.seal(body)
        return line

    def _quote(self, value: Any) -> str:
        if len(self._quoted) > 4096:
            self._quoted.clear()
        quoted = self._quoted[value] = audit.quote(str(value))
        return quoted

    def _header(self, writer: str) -> str:
        line, self._head = audit.seal(
            audit.header_body(time=audit.iso_time(time.time()), prev=self._head, writer=writer)
        )
        return line

    # -- what each sink does

    def _append(self, items: list[tuple[Any, ...]]) -> None:
        """Seal (hash-chain) and write the prepared ``items`` in order: sealing happens at write
        time, so a header inserted by a rotation takes its place in the chain."""
        raise NotImplementedError

    def _sync(self) -> None:
        raise NotImplementedError

    def _close_io(self) -> None:
        raise NotImplementedError


class JsonlSink(AuditSink):
    """JSON Lines files ``audit-NNNNNN.jsonl`` in ``directory``, a new file past ``max_bytes``.

    Each file starts with a header entry whose ``prev`` is the previous file's last hash. One
    writer per directory (an exclusive lock on ``.lock``). On open, the chain resumes from the
    last complete entry; a torn last line (a writer killed mid-line) is left as it is and a new
    file is started, so the evidence of the crash stays readable.
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES, **kw: Any
    ) -> None:
        super().__init__(**kw)
        if max_bytes < 1024:
            raise ConfigError("max_bytes must be >= 1024")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        if self.process:  # the writer process opens, locks and writes the files
            self._spawn(
                JsonlSink, (str(directory),), {**self._child_options(), "max_bytes": max_bytes}
            )
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.directory / ".lock", "a")  # noqa: SIM115 - held until close
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            raise ConfigError(f"another writer holds {self.directory}") from exc
        self._writer = f"{socket.gethostname()}:{os.getpid()}"
        files = log_files(self.directory)
        number = 0
        torn = False
        if files:
            number = int(FILE_NAME.match(files[-1].name).group(1))  # type: ignore[union-attr]
            self._head, torn = _last_hash(files[-1])
        if files and not torn and files[-1].stat().st_size < max_bytes:
            self._number = number
            self._file = open(files[-1], "a", encoding="ascii")  # noqa: SIM115
            self._size = files[-1].stat().st_size
        else:
            self._number = number
            self._open_next()
        self._start()

    @property
    def path(self) -> Path:
        """The file being written."""
        return self.directory / f"audit-{self._number:06d}.jsonl"

    def _open_next(self) -> None:
        self._number += 1
        self._file = open(self.path, "x", encoding="ascii")  # noqa: SIM115
        header = self._header(self._writer) + "\n"
        self._file.write(header)
        self._size = len(header)
        self._sync()
        _fsync_dir(self.directory)

    def _append(self, items: list[tuple[Any, ...]]) -> None:
        for item in items:
            if self._size >= self.max_bytes:
                self._sync()
                self._file.close()
                self._open_next()
            line = self._line(*item)
            # Complete lines only; the OS may still tear the last one on a crash (docs/audit.md).
            self._file.write(line + "\n")
            self._size += len(line) + 1

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def _close_io(self) -> None:
        self._sync()
        self._file.close()
        self._lock.close()


class RedisStreamSink(AuditSink):
    """A Redis Stream per writer: ``rc:v1:audit:<writer>``, each its own chain (docs/audit.md).

    Per-writer chains, not one shared chain: a shared chain needs the previous hash of every
    other worker before each append (a lock or a WATCH round trip per entry, serializing the
    fleet); per-writer streams append without coordination and each verifies on its own. The
    writers are listed in the set ``rc:v1:audit:writers``. ``client``: a redis-py client (see
    ``drivers.cache.connect``), or a Redis URL — required with ``process=True``, as the writer
    process connects on its own.
    """

    def __init__(self, client: Any, *, writer: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.writer = writer or f"{socket.gethostname()}:{os.getpid()}:{int(time.time() * 1000)}"
        self.key = STREAM_PREFIX + self.writer
        self._pending_header: str | None = None
        self.client: Any
        if isinstance(client, str):  # a URL (what the writer process connects with)
            from reservation_crawler.drivers.cache import connect

            self.client = connect(client)
        elif self.process:
            raise ConfigError("RedisStreamSink(process=True) takes the Redis URL, not a client")
        else:
            self.client = client
        if self.process:  # the writer process appends; this process reads (sink_chains)
            self._spawn(
                RedisStreamSink, (client,), {**self._child_options(), "writer": self.writer}
            )
            return
        last = self.client.xrevrange(self.key, count=1)
        if last:
            self._head = json.loads(last[0][1][b"e"].rsplit(b"\n", 1)[-1])["hash"]
        self._pending_header = self._header(self.writer)
        self.client.sadd(WRITERS_KEY, self.writer)
        self._start()

    def _append(self, items: list[tuple[Any, ...]]) -> None:
        # One XADD per batch, its lines joined by newlines: redis-py spends more per command
        # than the writer spends per entry, so an XADD per entry would be the bottleneck.
        lines = [self._line(*item) for item in items]
        if self._pending_header is not None:
            lines.insert(0, self._pending_header)
        self.client.xadd(self.key, {"e": "\n".join(lines)})
        self._pending_header = None

    def _sync(self) -> None:
        if self._pending_header is not None:
            self._append([])

    def _close_io(self) -> None:
        pass


def _writer_process(conn: Any, cls: type[AuditSink], args: tuple[Any, ...], options: Any) -> None:
    """The writer process: open the sink, then write each batch the checking process sends and
    acknowledge it once written (and durable when asked). It ignores SIGINT/SIGTERM: a Ctrl-C
    of the terminal reaches the whole process group, and only its parent ends it (by a message,
    or by dying: the pipe's end closes the sink, making what was written durable)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        sink = cls(*args, **options)
    except BaseException as exc:
        conn.send(("failed", _sendable(exc)))
        return
    conn.send(("ready", None))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            data = b""  # the checking process is gone
        message = marshal.loads(data) if data else None
        if message is None:
            sink._close_io()
            with contextlib.suppress(OSError):
                conn.send(("ok", 0))
            return
        items, sync = message
        try:
            if items:
                sink._append(items)
            if sync:
                sink._sync()
            conn.send(("ok", len(items)))
        except Exception as exc:  # the chain's head is now uncertain: the parent stops writing
            conn.send(("error", _sendable(exc)))


def _sendable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else an AuditUnavailable saying what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return AuditUnavailable(f"{type(exc).__name__}: {exc}")
    return exc


# --- reading --------------------------------------------------------------------------------


def default_root() -> Path:
    """``<user data dir>/audit``: where ``serve`` keeps its logs by default, one directory per
    address (``serve-<host>-<port>``), and where ``audit verify|query|export`` look without
    FILES (platformdirs; honours ``XDG_DATA_HOME``)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "audit"


def default_chains(root: Path | None = None) -> list[Path]:
    """The directories under ``root`` (default :func:`default_root`) holding audit files."""
    root = default_root() if root is None else root
    if not root.is_dir():
        return []
    return [d for d in sorted(root.iterdir()) if d.is_dir() and log_files(d)]


def log_files(directory: Path) -> list[Path]:
    """The audit files of ``directory``, in chain order."""
    return sorted(p for p in directory.iterdir() if FILE_NAME.match(p.name))


def expand(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files as given; a directory stands for its audit files in order."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(log_files(p) if p.is_dir() else [p])
    return out


def read_files(paths: Sequence[str | os.PathLike[str]]) -> Iterator[audit.Line]:
    """The lines of the files, in order, each with ``file:line`` and whether it was ended.

    Only the bytes after a file's last newline can be unterminated: that is a torn write.
    """
    for path in expand(paths):
        data = path.read_bytes()
        parts = data.split(b"\n")
        for number, raw in enumerate(parts, 1):
            last = number == len(parts)
            if last and not raw:
                break
            yield audit.Line(f"{path}:{number}", raw.decode("utf-8", "replace"), not last)


def read_streams(client: Any) -> Iterator[tuple[str, list[audit.Line]]]:
    """Each writer's stream as lines (``stream#id``): verify each chain on its own."""
    for writer in sorted(w.decode() for w in client.smembers(WRITERS_KEY)):
        key = STREAM_PREFIX + writer
        lines = [
            audit.Line(f"{key}#{sid.decode()}/{number}", text)
            for sid, fields in client.xrange(key)
            for number, text in enumerate(fields[b"e"].decode().split("\n"), 1)
        ]
        yield key, lines


def sink_chains(sink: AuditSink) -> Iterator[tuple[str, list[audit.Line]]]:
    """The chains a sink has written: its directory's files, or every writer's stream."""
    if isinstance(sink, JsonlSink):
        yield str(sink.directory), list(read_files([sink.directory]))
    elif isinstance(sink, RedisStreamSink):
        yield from read_streams(sink.client)


def select(
    chains: Iterator[tuple[str, list[audit.Line]]],
    origin: str | None,
    since: str | None,
    agent: str | None,
) -> dict[str, Any]:
    """The check entries matching the query, each chain's verification, in one pass."""
    found: list[dict[str, Any]] = []
    verified: dict[str, Any] = {}
    for name, lines in chains:
        verified[name] = audit.verify(lines).to_json()
        for line in lines:
            if not line.terminated:
                continue
            try:
                entry = json.loads(line.text)
            except ValueError:
                continue  # verify() reported it
            if isinstance(entry, dict) and audit.matches(entry, origin, since, agent):
                found.append(entry)
    return {"entries": found, "chains": verified}


def query_sink(
    sink: AuditSink, origin: str | None, since: str | None = None, agent: str | None = None
) -> dict[str, Any]:
    """:func:`select` over what ``sink`` has written (flushed first: what was queued counts)."""
    sink.flush()
    return select(sink_chains(sink), origin, since, agent)


def _last_hash(path: Path) -> tuple[str, bool]:
    """(the last complete entry's hash, whether the file ends with a torn line)."""
    data = path.read_bytes()
    torn = bool(data) and not data.endswith(b"\n")
    complete = data[: data.rfind(b"\n") + 1] if torn else data
    lines = complete.rstrip(b"\n").rsplit(b"\n", 1)
    if not lines[-1]:
        return audit.GENESIS, torn
    return json.loads(lines[-1])["hash"], torn


def _fsync_dir(directory: Path) -> None:
    """A new file's name is durable only once its directory is fsynced."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
