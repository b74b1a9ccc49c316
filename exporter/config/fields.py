"""Typed field readers for the config loader: each failure is a ConfigError with a key path."""

from __future__ import annotations

import difflib
import ipaddress
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from exporter.config.durations import ALLOWED as DURATION_ALLOWED
from exporter.config.durations import parse_duration
from exporter.config.errors import ConfigError

T = TypeVar("T")


class YamlMapping(dict[str, Any]):
    """A YAML mapping that remembers keys written more than once."""

    duplicates: list[str]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> YamlMapping:
    out = YamlMapping()
    out.duplicates = []
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            out.duplicates.append(str(key))
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def type_name(v: Any) -> str:
    return "null" if v is None else {"str": "string", "int": "integer", "float": "number",
                                     "bool": "boolean", "list": "list", "YamlMapping": "mapping",
                                     "dict": "mapping"}.get(type(v).__name__, type(v).__name__)


class Fields:
    """Readers for one file's fields; every failure is a ConfigError naming the key path."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def error(self, key: str, problem: str, allowed: str) -> ConfigError:
        return ConfigError(self.file, key, problem, allowed)

    def mapping(self, v: Any, path: str, known: Mapping[str, str]) -> dict[str, Any]:
        """Check a mapping's keys against ``known`` (key -> description)."""
        if not isinstance(v, dict):
            raise self.error(path or "top level", f"expected a mapping, got {type_name(v)}",
                               "keys " + ", ".join(known))
        for key in v:
            if not isinstance(key, str) or key not in known:
                hint = difflib.get_close_matches(str(key), list(known), n=1)
                did = f"; did you mean {hint[0]!r}?" if hint else ""
                raise self.error(join(path, str(key)), f"unknown key {key!r}{did}",
                                   ", ".join(known))
        dups = getattr(v, "duplicates", [])
        if dups:
            raise self.error(join(path, dups[0]), f"key {dups[0]!r} is given more than once",
                               "each key once")
        return v

    def string(self, v: Any, path: str, what: str = "a non-empty string") -> str:
        if not isinstance(v, str) or not v.strip():
            raise self.error(path, f"expected a non-empty string, got {type_name(v)} {v!r}",
                               what)
        return v

    def integer(self, v: Any, path: str, minimum: int = 1) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(path, f"expected an integer, got {type_name(v)} {v!r}",
                               f"an integer >= {minimum}")
        if v < minimum:
            raise self.error(path, f"{v} is too small", f"an integer >= {minimum}")
        return v

    def number(self, v: Any, path: str, lo: float, hi: float, *, lo_open: bool = True,
               hi_open: bool = True) -> float:
        allowed = (f"a number in {'(' if lo_open else '['}{lo:g}, "
                   f"{hi:g}{')' if hi_open else ']'}")
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.error(path, f"expected a number, got {type_name(v)} {v!r}", allowed)
        x = float(v)
        if x < lo or x > hi or (lo_open and x == lo) or (hi_open and x == hi):
            raise self.error(path, f"{v!r} is out of range", allowed)
        return x

    def duration(self, v: Any, path: str) -> float:
        try:
            return parse_duration(v)
        except ValueError as exc:
            raise self.error(path, str(exc), DURATION_ALLOWED) from None

    def duration_or_zero(self, v: Any, path: str) -> float:
        """A duration, or the number 0 where 0 means "none" (no cooldown, no pause)."""
        if isinstance(v, int | float) and not isinstance(v, bool) and v == 0:
            return 0.0
        try:
            return parse_duration(v)
        except ValueError as exc:
            raise self.error(path, str(exc), DURATION_ALLOWED + " (or 0)") from None

    def boolean(self, v: Any, path: str) -> bool:
        if not isinstance(v, bool):
            raise self.error(path, f"expected a boolean, got {type_name(v)} {v!r}",
                             "true or false")
        return v

    def unique_keys(self, v: Any, path: str) -> Any:
        """Free-form YAML (templates, parameters): no mapping inside may repeat a key."""
        if isinstance(v, dict):
            dups = getattr(v, "duplicates", [])
            if dups:
                raise self.error(join(path, dups[0]),
                                 f"key {dups[0]!r} is given more than once", "each key once")
            for key, item in v.items():
                self.unique_keys(item, join(path, str(key)))
        elif isinstance(v, list):
            for i, item in enumerate(v):
                self.unique_keys(item, join(path, i))
        return v

    def host_port(self, v: Any, path: str, *, loopback: bool) -> str:
        allowed = ("a loopback HOST:PORT such as 127.0.0.1:9848 or [::1]:9848" if loopback
                   else "HOST:PORT such as 0.0.0.0:9847, 127.0.0.1:9847 or [::1]:9847")
        if not isinstance(v, str) or ":" not in v:
            raise self.error(path, f"expected HOST:PORT, got {type_name(v)} {v!r}", allowed)
        host, _, port = v.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
            raise self.error(path, f"{v!r} is not HOST:PORT with a port 0-65535", allowed)
        if loopback:
            try:
                ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
            except ValueError:
                ok = False
            if not ok:
                raise self.error(path, f"{host!r} is not a loopback address "
                                   "(the TCP listener has no authentication)", allowed)
        return v

    def socket_mode(self, v: Any, path: str) -> int:
        allowed = 'an octal string like "0660" or an integer 0-0o777'
        if isinstance(v, str):
            try:
                mode = int(v, 8)
            except ValueError:
                raise self.error(path, f"{v!r} is not an octal mode", allowed) from None
        elif isinstance(v, int) and not isinstance(v, bool):
            mode = v
        else:
            raise self.error(path, f"expected a mode, got {type_name(v)} {v!r}", allowed)
        if not 0 <= mode <= 0o777:
            raise self.error(path, f"{v!r} is out of range", allowed)
        return mode

    def optional(self, v: Any, fn: Callable[[Any, str], T], path: str) -> T | None:
        return None if v is None else fn(v, path)
