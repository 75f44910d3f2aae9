"""One JSON codec for every frozen dataclass and named tuple the package stores or prints.

``to_json(obj)`` gives a JSON-ready dict, ``from_json(cls, data)`` rebuilds the object; keys are
the field names, values follow the field types (enums as their value, tuples as lists, mappings
as objects, ``bytes`` as UTF-8 text or ``<key>_b64``). A class states what its JSON form does
differently with the :func:`shape` decorator (a schema tag, omitted defaults, a key order kept
from an older format, ...). Each class gets, on first use, a generated straight-line encoder and
decoder (as attrs and cattrs generate theirs), as fast as the hand-written methods they replace.
Unknown keys are ignored, so a reader accepts values written with a newer ``_cache`` or extra
field.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import operator
import threading
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from reservation_crawler.errors import DecodeError, ReservationCrawlerError

__all__ = ["from_json", "shape", "to_json"]

T = TypeVar("T")
Convert = Callable[[Any], Any]

_MISSING: Any = dataclasses.MISSING
_VALUE = operator.attrgetter("value")  # an enum member's JSON


@dataclasses.dataclass(frozen=True, slots=True)
class _Shape:
    tag: str | None = None
    omit_default: frozenset[str] = frozenset()
    rename: Mapping[str, str] = dataclasses.field(default_factory=dict)
    nest: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    convert: Mapping[str, tuple[Convert | None, Convert | None]] = dataclasses.field(
        default_factory=dict
    )
    computed: Mapping[str, Convert] = dataclasses.field(default_factory=dict)
    order: tuple[str, ...] | None = None


_SHAPES: dict[type, _Shape] = {}


def shape(
    *,
    tag: str | None = None,
    omit_default: Iterable[str] = (),
    rename: Mapping[str, str] | None = None,
    nest: Mapping[str, Iterable[str]] | None = None,
    convert: Mapping[str, tuple[Convert | None, Convert | None]] | None = None,
    computed: Mapping[str, Convert] | None = None,
    order: str | Iterable[str] | None = None,
) -> Callable[[type[T]], type[T]]:
    """Declare how a class's JSON differs from plain "one key per field, in field order".

    ``tag``: the ``"schema"`` value written first and required when reading (a ``schema`` field,
    if any, is filled from it). ``omit_default``: fields left out while they equal their default.
    ``rename``: field -> key. ``nest``: key -> fields written inside one sub-object under it.
    ``convert``: field -> (encode, decode) replacing the type-directed conversion (None keeps
    it). ``computed``: key -> function of the object, written only. ``order``: every top-level
    key, in the order written (formats that predate the field order; a string: space-separated).
    """

    def declare(cls: type[T]) -> type[T]:
        if cls in _SHAPES:
            raise ReservationCrawlerError(f"{cls.__name__}: its JSON shape is declared twice")
        _SHAPES[cls] = _Shape(
            tag=tag,
            omit_default=frozenset(omit_default),
            rename=dict(rename or {}),
            nest={key: tuple(names) for key, names in (nest or {}).items()},
            convert=dict(convert or {}),
            computed=dict(computed or {}),
            order=None
            if order is None
            else tuple(order.split() if isinstance(order, str) else order),
        )
        return cls

    return declare


def to_json(obj: Any) -> dict[str, Any]:
    """``obj`` (a dataclass or named tuple instance) as a JSON-ready dict."""
    plan = _PLANS.get(type(obj)) or _plan(type(obj))
    return plan.encode(obj)


def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    """An instance of ``cls`` from its JSON form; :class:`DecodeError` when it does not fit."""
    plan = _PLANS.get(cls) or _plan(cls)
    try:
        return plan.decode(data)
    except DecodeError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise DecodeError(f"not a {cls.__name__}: {what}") from exc


# --- plans ------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Field:
    name: str  # the attribute
    key: str  # the JSON key
    encode: Convert | None  # None: the value as it is
    decode: Convert | None
    default: Any  # _MISSING: required
    factory: Callable[[], Any] | None
    omit: bool  # left out while equal to the default
    raw: bool  # bytes: text under key, else base64 under key + "_b64"


class _Plan:
    """A class's compiled ``encode(obj) -> dict`` and ``decode(data) -> obj``."""

    __slots__ = ("decode", "encode")

    def __init__(self, encode: Callable[[Any], dict[str, Any]], decode: Callable[[Any], Any]):
        self.encode = encode
        self.decode = decode


_PLANS: dict[type, _Plan] = {}
_PLANNING: set[type] = set()  # classes whose plan is being built (a field of their own type)
_PLAN_LOCK = threading.RLock()
_ABSENT: Any = object()


def _fields(cls: type) -> list[tuple[str, Any, Any, Callable[[], Any] | None]]:
    """(name, type, default, default factory) of each field, in declaration order."""
    hints = typing.get_type_hints(cls)
    if dataclasses.is_dataclass(cls):
        return [
            (
                f.name,
                hints[f.name],
                typing.cast(Any, f.default),
                None if f.default_factory is _MISSING else typing.cast(Any, f.default_factory),
            )
            for f in dataclasses.fields(cls)
        ]
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        defaults = getattr(cls, "_field_defaults", {})
        return [(name, hints[name], defaults.get(name, _MISSING), None) for name in cls._fields]
    raise ReservationCrawlerError(f"{cls.__name__} is neither a dataclass nor a named tuple")


def _plan(cls: type) -> _Plan:
    with _PLAN_LOCK:  # the first calls may come from several threads (Checker, server)
        plan = _PLANS.get(cls)
        if plan is not None:
            return plan
        _PLANNING.add(cls)
        try:
            return _build_plan(cls)
        finally:
            _PLANNING.discard(cls)


def _build_plan(cls: type) -> _Plan:
    spec = _SHAPES.get(cls, _Shape())
    fields = _fields(cls)
    tag_field = spec.tag is not None and any(name == "schema" for name, *_ in fields)
    decoders: list[tuple[str | None, _Field]] = []  # (the group's key or None, field)
    nested_in = {name: key for key, names in spec.nest.items() for name in names}
    # What each top-level key is written from: "schema", a field, a group of fields, a function.
    entries: dict[str, tuple[str, Any]] = {}

    if spec.tag is not None:
        entries["schema"] = ("schema", tag_field)

    for name, tp, default, factory in fields:
        if name == "schema" and spec.tag is not None:
            continue
        encode, decode = spec.convert.get(name, (None, None))
        raw = _strip_optional(tp) is bytes
        f = _Field(
            name=name,
            key=spec.rename.get(name, name),
            encode=encode if encode is not None or raw else _encoder(tp),
            decode=decode if decode is not None or raw else _decoder(tp),
            default=default,
            factory=factory,
            omit=name in spec.omit_default,
            raw=raw,
        )
        group = nested_in.get(name)
        if group is None:
            entries[f.key] = ("field", f)
        else:
            entries.setdefault(group, ("group", []))[1].append(f)
        decoders.append((group, f))

    for key, fn in spec.computed.items():
        entries[key] = ("computed", fn)

    order = list(entries) if spec.order is None else list(spec.order)
    if sorted(order) != sorted(entries):
        raise ReservationCrawlerError(f"{cls.__name__}: order {spec.order} != keys {list(entries)}")
    plan = _Plan(
        _compile_encoder(cls, spec.tag, [(key, *entries[key]) for key in order]),
        _compile_decoder(cls, spec.tag, tag_field, decoders),
    )
    _PLANS[cls] = plan
    return plan


def _compile_encoder(
    cls: type, tag: str | None, entries: list[tuple[str, str, Any]]
) -> Callable[[Any], dict[str, Any]]:
    """One straight-line function per class, as attrs and cattrs generate theirs: a call per
    object instead of a call per field (records are written once per crawled page)."""
    names: dict[str, Any] = {"_write_bytes": _write_bytes, "_tag": tag}
    lines = ["def encode(o):", "    out = {}"]

    def field(f: _Field, target: str) -> None:
        n = len(names)
        default = f.factory() if f.factory is not None else f.default  # {} for a factory dict
        names[f"_f{n}"], names[f"_e{n}"], names[f"_d{n}"] = f, f.encode, default
        value = f"o.{f.name}" if f.encode is None else f"_e{n}(o.{f.name})"
        if f.raw:
            lines.append(f"    _write_bytes(o.{f.name}, {target}, _f{n})")
        elif f.omit:
            lines.append(f"    if o.{f.name} != _d{n}:")
            lines.append(f"        {target}[{f.key!r}] = {value}")
        else:
            lines.append(f"    {target}[{f.key!r}] = {value}")

    for key, kind, what in entries:
        if kind == "schema":
            lines.append(f"    out['schema'] = {'o.schema' if what else '_tag'}")
        elif kind == "field":
            field(what, "out")
        elif kind == "group":
            lines.append(f"    out[{key!r}] = inner = {{}}")
            for member in what:
                field(member, "inner")
        else:
            n = len(names)
            names[f"_c{n}"] = what
            lines.append(f"    out[{key!r}] = _c{n}(o)")
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<codec encoder of {cls.__qualname__}>", "exec"), names)
    return names["encode"]


def _compile_decoder(
    cls: type, tag: str | None, tag_field: bool, decoders: list[tuple[str | None, _Field]]
) -> Callable[[Any], Any]:
    """The reverse: keyword arguments from the JSON, defaults left to the constructor."""
    names: dict[str, Any] = {
        "_cls": cls,
        "_tag": tag,
        "_wrong_schema": _wrong_schema,
        "_read_bytes": _read_bytes,
        "_ABSENT": _ABSENT,
    }
    lines = ["def decode(d):"]
    if tag is not None:
        lines.append("    if d.get('schema') != _tag:")
        lines.append("        _wrong_schema(_cls, _tag, d.get('schema'))")
    lines.append("    kw = {}")
    if tag_field:
        lines.append("    kw['schema'] = d['schema']")
    groups: dict[str, str] = {}
    for group, f in decoders:
        where = "d"
        if group is not None:
            if group not in groups:
                groups[group] = f"g{len(groups)}"
                lines.append(f"    {groups[group]} = d[{group!r}]")
            where = groups[group]
        n = len(names)
        names[f"_f{n}"], names[f"_x{n}"] = f, f.decode
        value = "v" if f.decode is None else f"_x{n}(v)"
        if f.raw:
            lines.append(f"    v = _read_bytes({where}, _f{n})")
            lines.append("    if v is not _ABSENT:")
            lines.append(f"        kw[{f.name!r}] = v")
        elif f.default is _MISSING and f.factory is None:
            lines.append(f"    v = {where}[{f.key!r}]")  # KeyError: from_json says which
            lines.append(f"    kw[{f.name!r}] = {value}")
        else:
            lines.append(f"    if {f.key!r} in {where}:")
            lines.append(f"        v = {where}[{f.key!r}]")
            lines.append(f"        kw[{f.name!r}] = {value}")
    lines.append("    return _cls(**kw)")
    exec(compile("\n".join(lines), f"<codec decoder of {cls.__qualname__}>", "exec"), names)
    return names["decode"]


def _wrong_schema(cls: type, tag: str, found: Any) -> None:
    raise DecodeError(f"unsupported {cls.__name__} schema {found!r}, want {tag!r}")


def _read_bytes(where: Mapping[str, Any], f: _Field) -> Any:
    if f.key in where:
        return where[f.key].encode("utf-8")
    if f.key + "_b64" in where:
        return base64.b64decode(where[f.key + "_b64"], validate=True)
    if f.default is not _MISSING:
        return _ABSENT
    raise KeyError(f.key)


def _write_bytes(value: bytes | None, out: dict[str, Any], f: _Field) -> None:
    """Text under the key when it is UTF-8, else base64 under ``<key>_b64``."""
    if value is None:
        if not f.omit:
            out[f.key] = None
        return
    try:
        out[f.key] = value.decode("utf-8")
    except UnicodeDecodeError:
        out[f.key + "_b64"] = base64.b64encode(value).decode("ascii")


# --- type-directed conversions ------------------------------------------------------------------


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _strip_optional(tp: Any) -> Any:
    if _is_union(tp):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and (
        dataclasses.is_dataclass(tp) or (issubclass(tp, tuple) and hasattr(tp, "_fields"))
    )


def _encoder(tp: Any) -> Convert | None:
    """How a value of type ``tp`` becomes JSON; None when it already is."""
    if _is_union(tp):
        inner_type = _strip_optional(tp)
        if inner_type is tp:
            return None  # a union of plain JSON types
        inner = _encoder(inner_type)
        if inner is None:
            return None
        return lambda v: None if v is None else inner(v)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _VALUE
    if _is_record(tp):
        if tp in _PLANNING:  # a field of its own type: find the plan when called
            return lambda v: _PLANS[tp].encode(v)
        return (_PLANS.get(tp) or _plan(tp)).encode
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (tuple, list):
        item = _encoder(args[0]) if args else None
        if item is None:
            return list
        each: Convert = item  # narrowed, for the closure
        return lambda v: [each(x) for x in v]
    if origin in (frozenset, set):
        item = _encoder(args[0]) if args else None
        if item is None:
            return sorted
        each_one: Convert = item
        return lambda v: sorted(each_one(x) for x in v)
    if origin in (dict, Mapping):
        k_enc = _encoder(args[0]) if args else None
        v_enc = _encoder(args[1]) if args else None
        if k_enc is None and v_enc is None:
            return dict
        k_enc = k_enc or _same
        v_enc = v_enc or _same
        return lambda v: {k_enc(k): v_enc(x) for k, x in v.items()}
    return None


def _decoder(tp: Any) -> Convert | None:
    """How JSON becomes a value of type ``tp``; None when it is used as it is."""
    if _is_union(tp):
        inner_type = _strip_optional(tp)
        if inner_type is tp:
            return None
        inner = _decoder(inner_type)
        if inner is None:
            return None
        return lambda v: None if v is None else inner(v)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    if _is_record(tp):
        if tp in _PLANNING:
            return lambda v: _PLANS[tp].decode(v)
        return (_PLANS.get(tp) or _plan(tp)).decode
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (tuple, list):
        item = _decoder(args[0]) if args else None
        if item is None:
            return origin
        each: Convert = item  # narrowed, for the closure
        return lambda v: origin([each(x) for x in v])
    if origin in (frozenset, set):
        item = _decoder(args[0]) if args else None
        if item is None:
            return origin
        each_one: Convert = item
        return lambda v: origin([each_one(x) for x in v])
    if origin in (dict, Mapping):
        k_dec = _decoder(args[0]) if args else None
        v_dec = _decoder(args[1]) if args else None
        if k_dec is None and v_dec is None:
            return dict
        k_dec = k_dec or _same
        v_dec = v_dec or _same
        return lambda v: {k_dec(k): v_dec(x) for k, x in v.items()}
    return None


def _same(value: Any) -> Any:
    return value
