"""One JSON codec for every frozen dataclass and named tuple the package stores or prints.

``to_json(obj)`` gives a JSON-ready dict, ``from_json(cls, data)`` rebuilds the object; keys are
the field names, values follow the field types (enums as their value, tuples as lists, mappings
as objects, ``bytes`` as UTF-8 text or ``<key>_b64``). A class states what its JSON form does
differently with the :func:`shape` decorator (a schema tag, omitted defaults, a key order kept
from an older format, ...). Plans are built once per class, on first use. Unknown keys are
ignored, so a reader accepts values written with a newer ``_cache`` or extra field.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from reservation_crawler.errors import DecodeError

__all__ = ["from_json", "shape", "to_json"]

T = TypeVar("T")
Convert = Callable[[Any], Any]

_MISSING: Any = dataclasses.MISSING


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
            raise TypeError(f"{cls.__name__}: its JSON shape is declared twice")
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
        return plan.decode(data)  # type: ignore[no-any-return]
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
    __slots__ = ("cls", "decoders", "encoders", "tag", "tag_field")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.encoders: list[Callable[[Any, dict[str, Any]], None]] = []
        self.decoders: list[tuple[tuple[str, ...], _Field]] = []
        self.tag: str | None = None
        self.tag_field = False

    def encode(self, obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for write in self.encoders:
            write(obj, out)
        return out

    def decode(self, data: Mapping[str, Any]) -> Any:
        if self.tag is not None and data.get("schema") != self.tag:
            raise DecodeError(
                f"unsupported {self.cls.__name__} schema {data.get('schema')!r}, want {self.tag!r}"
            )
        kwargs: dict[str, Any] = {}
        if self.tag_field:
            kwargs["schema"] = data["schema"]
        for path, f in self.decoders:
            where = data
            for key in path:
                where = where[key]
            if f.raw:
                if f.key in where:
                    value = where[f.key].encode("utf-8")
                elif f.key + "_b64" in where:
                    value = base64.b64decode(where[f.key + "_b64"], validate=True)
                elif f.default is not _MISSING:
                    continue
                else:
                    raise DecodeError(f"not a {self.cls.__name__}: missing key {f.key!r}")
            elif f.key in where:
                value = where[f.key]
                if f.decode is not None:
                    value = f.decode(value)
            elif f.default is not _MISSING or f.factory is not None:
                continue  # the constructor fills the default
            else:
                raise DecodeError(f"not a {self.cls.__name__}: missing key {f.key!r}")
            kwargs[f.name] = value
        return self.cls(**kwargs)


_PLANS: dict[type, _Plan] = {}


def _fields(cls: type) -> list[tuple[str, Any, Any, Callable[[], Any] | None]]:
    """(name, type, default, default factory) of each field, in declaration order."""
    hints = typing.get_type_hints(cls)
    if dataclasses.is_dataclass(cls):
        return [
            (
                f.name,
                hints[f.name],
                f.default,
                None if f.default_factory is _MISSING else f.default_factory,
            )
            for f in dataclasses.fields(cls)
        ]
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        defaults = getattr(cls, "_field_defaults", {})
        return [(name, hints[name], defaults.get(name, _MISSING), None) for name in cls._fields]
    raise TypeError(f"{cls.__name__} is neither a dataclass nor a named tuple")


def _plan(cls: type) -> _Plan:
    spec = _SHAPES.get(cls, _Shape())
    plan = _Plan(cls)
    fields = _fields(cls)
    nested_in = {name: key for key, names in spec.nest.items() for name in names}
    entries: dict[str, Callable[[Any, dict[str, Any]], None]] = {}
    groups: dict[str, list[Callable[[Any, dict[str, Any]], None]]] = {}

    if spec.tag is not None:
        plan.tag = spec.tag
        plan.tag_field = any(name == "schema" for name, *_ in fields)
        entries["schema"] = _writer_schema(spec.tag, plan.tag_field)

    for name, tp, default, factory in fields:
        if name == "schema" and plan.tag is not None:
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
        write = _writer(f)
        group = nested_in.get(name)
        if group is None:
            entries[f.key] = write
            plan.decoders.append(((), f))
        else:
            if group not in groups:
                groups[group] = []
                entries[group] = _writer_group(group, groups[group])
            groups[group].append(write)
            plan.decoders.append(((group,), f))

    for key, fn in spec.computed.items():
        entries[key] = _writer_computed(key, fn)

    if spec.order is not None:
        if sorted(spec.order) != sorted(entries):
            raise TypeError(f"{cls.__name__}: order {spec.order} does not list {list(entries)}")
        plan.encoders = [entries[key] for key in spec.order]
    else:
        plan.encoders = list(entries.values())
    _PLANS[cls] = plan
    return plan


def _writer_schema(tag: str, from_field: bool) -> Callable[[Any, dict[str, Any]], None]:
    if from_field:

        def write(obj: Any, out: dict[str, Any]) -> None:
            out["schema"] = obj.schema

    else:

        def write(obj: Any, out: dict[str, Any]) -> None:
            out["schema"] = tag

    return write


def _writer_group(
    key: str, members: list[Callable[[Any, dict[str, Any]], None]]
) -> Callable[[Any, dict[str, Any]], None]:
    def write(obj: Any, out: dict[str, Any]) -> None:
        inner: dict[str, Any] = {}
        for member in members:
            member(obj, inner)
        out[key] = inner

    return write


def _writer_computed(key: str, fn: Convert) -> Callable[[Any, dict[str, Any]], None]:
    def write(obj: Any, out: dict[str, Any]) -> None:
        out[key] = fn(obj)

    return write


def _writer(f: _Field) -> Callable[[Any, dict[str, Any]], None]:
    name, key, encode, default = f.name, f.key, f.encode, f.default
    if f.raw:

        def write(obj: Any, out: dict[str, Any]) -> None:
            value = getattr(obj, name)
            if value is None:
                if not f.omit:
                    out[key] = None
                return
            try:
                out[key] = value.decode("utf-8")
            except UnicodeDecodeError:
                out[key + "_b64"] = base64.b64encode(value).decode("ascii")

    elif f.omit:

        def write(obj: Any, out: dict[str, Any]) -> None:
            value = getattr(obj, name)
            if value != default:
                out[key] = value if encode is None else encode(value)

    elif encode is None:

        def write(obj: Any, out: dict[str, Any]) -> None:
            out[key] = getattr(obj, name)

    else:

        def write(obj: Any, out: dict[str, Any]) -> None:
            out[key] = encode(getattr(obj, name))

    return write


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
        return lambda v: v.value
    if _is_record(tp):
        return lambda v: (_PLANS.get(tp) or _plan(tp)).encode(v)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (tuple, list):
        item = _encoder(args[0]) if args else None
        if item is None:
            return list
        return lambda v: [item(x) for x in v]
    if origin in (frozenset, set):
        item = _encoder(args[0]) if args else None
        if item is None:
            return sorted
        return lambda v: sorted(item(x) for x in v)
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
        return lambda v: (_PLANS.get(tp) or _plan(tp)).decode(v)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (tuple, list):
        item = _decoder(args[0]) if args else None
        if item is None:
            return origin  # type: ignore[no-any-return]
        return lambda v: origin(item(x) for x in v)
    if origin in (frozenset, set):
        item = _decoder(args[0]) if args else None
        if item is None:
            return origin  # type: ignore[no-any-return]
        return lambda v: origin(item(x) for x in v)
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
