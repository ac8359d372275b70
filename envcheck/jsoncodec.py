"""Frozen records to JSON-ready values and back, driven by the records' type hints.

One codec for every versioned document (Snapshot now, lockfile headers and fingerprints
later), so that a field added to a record is serialized without touching a hand-written
`to_dict`. Decoding validates as it goes and names the path of the first bad value.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

from packaging.version import InvalidVersion, Version

T = TypeVar("T")

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


class DecodeError(ValueError):
    """A JSON value that does not fit the record; `path` says where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '<root>'}: {message}")
        self.path = path


def encode(value: object) -> JsonValue:
    """Turn a record (or anything inside one) into plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Version):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: object) -> str:
    return json.dumps(encode(value), indent=2, sort_keys=False) + "\n"


def decode(cls: type[T], value: object) -> T:
    """Build `cls` from plain JSON values, checking every field against its type."""
    result = _decode(cls, value, "")
    return typing.cast("T", result)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, value: object, path: str) -> object:
    if tp is Any or tp is object:
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _decode_record(tp, value, path)
    origin = get_origin(tp)
    if origin is typing.Literal:
        if value not in get_args(tp):
            allowed = ", ".join(repr(a) for a in get_args(tp))
            raise DecodeError(path, f"expected one of {allowed}, got {value!r}")
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _decode(arg, value, path)
            except DecodeError as e:
                errors.append(str(e))
        raise DecodeError(path, f"no alternative fits {value!r}: {'; '.join(errors)}")
    if origin is tuple:
        if not isinstance(value, list):
            raise DecodeError(path, f"expected a list, got {type(value).__name__}")
        (item_tp, _ellipsis) = get_args(tp)
        return tuple(_decode(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin in (Mapping, dict, typing.Mapping):
        if not isinstance(value, dict):
            raise DecodeError(path, f"expected an object, got {type(value).__name__}")
        _key_tp, val_tp = get_args(tp)
        return {str(k): _decode(val_tp, v, f"{path}.{k}") for k, v in value.items()}
    if tp is Version:
        if not isinstance(value, str):
            raise DecodeError(path, f"expected a version string, got {value!r}")
        try:
            return Version(value)
        except InvalidVersion as e:
            raise DecodeError(path, f"not a version: {value!r}") from e
    if isinstance(tp, type) and issubclass(tp, str) and tp is not str:
        # Validated text types (DriverVersion): the constructor checks the shape.
        if not isinstance(value, str):
            raise DecodeError(path, f"expected a string, got {value!r}")
        try:
            return tp(value)
        except ValueError as e:
            raise DecodeError(path, str(e)) from e
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DecodeError(path, f"expected a number, got {value!r}")
        return float(value)
    if tp is bool or tp is int or tp is str:
        # bool is an int in Python; JSON keeps them apart, and so do we.
        if type(value) is not tp:
            raise DecodeError(path, f"expected {tp.__name__}, got {value!r}")
        return value
    raise TypeError(f"{path}: no decoder for type {tp!r}")


def _decode_record(cls: type, value: object, path: str) -> object:
    if not isinstance(value, dict):
        raise DecodeError(path, f"expected an object, got {type(value).__name__}")
    hints = _hints(cls)
    kwargs: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue  # derived from the other fields; written for readers, not read back
        sub = f"{path}.{f.name}" if path else f.name
        if f.name in value:
            kwargs[f.name] = _decode(hints[f.name], value[f.name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise DecodeError(sub, "required field is missing")
    # Unknown keys are tolerated: a newer envcheck may add fields within the same schema.
    return cls(**kwargs)
