"""Tap protocol v1: decode a batch of NDJSON lines into per-model columns.

The envelope of every line is decoded first (features kept as raw JSON), the
lines are grouped per (model, version), and each group's features are decoded
in one call into a per-model generated ``msgspec.Struct``; the resulting
tuples become packed columns (doubles in ``bytes``, category indices in an
``array``), so no Python code runs per feature value. This module does not
import numpy: a decoder process stays small, and the batch crosses the pipe as
a few byte buffers and lists (``columns.py``).

A line that cannot be decoded is rejected alone with its reason; whatever it
raises, the rest of its batch is decoded.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec

from exporter.config.model import Config, ModelConfig
from exporter.sidecar.ingest.columns import Column, DecodedBatch, ModelBatch, PredictionValue
from exporter.sidecar.ingest.events import (
    ENVELOPE,
    PROTOCOL_VERSION,
    Envelope,
    FeatureDecoder,
    rejection,
)
from exporter.types import ModelKey

__all__ = ["PROTOCOL_VERSION", "BatchDecoder", "Column", "DecodedBatch", "Envelope",
           "ModelBatch", "PredictionValue"]

_PREDICTION = operator.attrgetter("prediction")
_FEATURES = operator.attrgetter("features")
_ID = operator.attrgetter("id")
_EXAMPLE_CHARS = 200  # of a rejected line's story, for the log


class _Rejects:
    """Rejections of one batch by reason, with the first example of each reason."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def add(self, reason: str, why: str) -> None:
        self.counts[reason] += 1
        if reason not in self.examples:
            self.examples[reason] = why[:_EXAMPLE_CHARS]


class BatchDecoder:
    """Turns NDJSON lines into per-model batches and counts rejections by reason."""

    def __init__(self, config: Config) -> None:
        self.models: dict[ModelKey, ModelConfig] = {m.key: m for m in config.models}
        self.versions: dict[str, list[str]] = {}
        for m in config.models:
            self.versions.setdefault(m.name, []).append(m.version)
        limit = config.server.max_features_per_event
        self.max_id_bytes = config.server.max_id_bytes
        self.features = {k: FeatureDecoder(m, limit, len(self.versions[m.name]) == 1,
                                           self.max_id_bytes)
                         for k, m in self.models.items()}
        self._routes: dict[tuple[str, str | None], ModelKey | str] = {}
        for m in config.models:
            self._routes[(m.name, m.version)] = m.key
            if len(self.versions[m.name]) == 1:
                self._routes[(m.name, None)] = m.key
        self._last: ModelKey | None = None  # model of the previous single-model batch

    def decode(self, lines: Sequence[bytes]) -> DecodedBatch:
        try:
            return self._decode(lines)
        except Exception:  # a line msgspec cannot take (or a bug): find it, decode the rest
            return self._decode_apart(lines)

    def _decode(self, lines: Sequence[bytes]) -> DecodedBatch:
        if self._last is not None:
            fast = self._decode_typed(lines, self._last)
            if fast is not None:
                return fast
        return self._decode_generic(lines)

    def _decode_apart(self, lines: Sequence[bytes]) -> DecodedBatch:
        """Each line alone first: one that raises is rejected, the others decoded together."""
        rejects = _Rejects()
        keep: list[bytes] = []
        for line in lines:
            try:
                self._decode_generic([line])
            except RecursionError as exc:
                rejects.add("too_deep", str(exc))
            except Exception as exc:  # a decoder bug: this line is lost, counted, never more
                rejects.add("internal_error", f"{type(exc).__name__}: {exc}")
            else:
                keep.append(line)
        out = self._decode(keep)
        out.rejected.update(rejects.counts)
        for reason, why in rejects.examples.items():
            out.examples.setdefault(reason, why)
        return out

    def envelopes(self, lines: Sequence[bytes], rejects: _Rejects) -> list[Envelope]:
        try:
            envs: list[Envelope] = ENVELOPE.decode_lines(b"\n".join(lines))
            if len(envs) == len(lines):
                return envs
        except (msgspec.DecodeError, RecursionError):
            pass
        out: list[Envelope] = []
        for line in lines:
            try:
                out.append(ENVELOPE.decode(line))
            except (msgspec.DecodeError, RecursionError) as exc:
                rejects.add(rejection(exc), f"{_who(line)}{exc}")
        return out

    def _decode_typed(self, lines: Sequence[bytes], key: ModelKey) -> DecodedBatch | None:
        """Hot path: every line is an event of the model seen last; None if not."""
        decoder = self.features[key]
        # A line that could have too many features goes the generic way, which counts
        # them exactly (structs ignore unknown keys). A key takes at least 5 bytes
        # ("k":0 and a comma), so short lines pass unchecked; ':' bounds the rest.
        limit = decoder.max_features
        if max(map(len, lines), default=0) >= 5 * limit and \
                max(map(bytes.count, lines, itertools.repeat(b":"))) > limit:
            return None
        joined = b"\n".join(lines)
        try:
            events: list[Any] = decoder.typed.decode_lines(joined)
        except (msgspec.DecodeError, RecursionError):
            return None
        if len(events) != len(lines):
            return None
        ids = list(map(_ID, events))
        # msgspec capped ids in characters; bytes differ only where a line is not ASCII
        # (a UTF-8 character takes at most 4 bytes: ids this short need no closer look)
        if not joined.isascii() and max(map(len, filter(None, ids)), default=0) * 4 > \
                self.max_id_bytes and any(map(self._long_id, ids)):
            return None
        preds = list(map(_PREDICTION, events))
        feats = list(map(_FEATURES, events))
        if preds.count(None) == 0 or feats.count(None) == 0:
            flags = b"\x01" * len(events)  # every event is a prediction
        else:
            flags = bytes(p is not None or f is not None
                          for p, f in zip(preds, feats, strict=True))
            if any(not is_pred and (e.label is None or e.id is None)
                   for is_pred, e in zip(flags, events, strict=True)):
                return None
        batch = ModelBatch.of(events, flags, decoder.columns(feats), len(decoder.numeric_names),
                              preds, ids)
        return DecodedBatch({key: batch}, Counter())

    def _long_id(self, ident: str | None) -> bool:
        limit = self.max_id_bytes
        return ident is not None and len(ident) * 4 > limit and len(ident.encode()) > limit

    def _decode_generic(self, lines: Sequence[bytes]) -> DecodedBatch:
        rejects = _Rejects()
        grouped: dict[ModelKey, list[Envelope]] = {}
        routes = self._routes
        for env in self.envelopes(lines, rejects):
            route = routes.get((env.model, env.version))
            if route is None:
                route = routes[(env.model, env.version)] = self._route(env.model, env.version)
            if isinstance(route, str):
                rejects.add(route, f"model {env.model!r} version {env.version!r}")
                continue
            where = f"model {env.model!r} version {route[1]!r}"
            if env.v != PROTOCOL_VERSION:
                rejects.add("unsupported_version", f"{where}: v={env.v}")
                continue
            if env.prediction is None and not _has_features(env) and (env.label is None
                                                                 or env.id is None):
                # nothing to record, or a label without id
                rejects.add("missing_field", f"{where}: no features, prediction or id+label")
                continue
            if self._long_id(env.id):
                rejects.add("id_too_long", f"{where}: id of {len(str(env.id).encode())} bytes")
                continue
            events = grouped.get(route)
            if events is None:
                events = grouped[route] = []
            events.append(env)
        batches = {key: self._batch(key, events, rejects) for key, events in grouped.items()}
        if len(batches) == 1:
            self._last = next(iter(batches))
        return DecodedBatch(batches, rejects.counts, rejects.examples)

    def _route(self, model: str, version: str | None) -> ModelKey | str:
        versions = self.versions.get(model)
        if versions is None:
            return "unknown_model"
        if version is None:
            return (model, versions[0]) if len(versions) == 1 else "missing_field"
        return (model, version) if version in versions else "unknown_version"

    def _batch(self, key: ModelKey, events: list[Envelope], rejects: _Rejects) -> ModelBatch:
        """The batch of one model's envelopes; events with bad features are counted and left out."""
        decoder = self.features[key]
        raws = [_features_or_empty(bytes(e.features)) for e in events]
        limit = decoder.max_features
        columns = None
        if not any(r.count(b":") > limit for r in raws):
            with contextlib.suppress(msgspec.DecodeError):
                columns = decoder.decode(raws)
        if columns is None:
            keep: list[int] = []
            for i, raw in enumerate(raws):
                bad = decoder.check(raw)
                if bad is None:
                    keep.append(i)
                else:
                    rejects.add(bad[0], f"model {key[0]!r} version {key[1]!r}: {bad[1]}")
            events = [events[i] for i in keep]
            columns = decoder.decode([raws[i] for i in keep])
        flags = bytes(e.prediction is not None or _has_features(e) for e in events)
        return ModelBatch.of(events, flags, columns, len(decoder.numeric_names))


class _Who(msgspec.Struct):
    """Just enough of a rejected line to say whose it is."""

    model: object = None
    version: object = None


_WHO = msgspec.json.Decoder(_Who)


def _who(line: bytes) -> str:
    """"model 'x' version 'y': " for a line whose model can be read, else ""."""
    try:
        who = _WHO.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return ""
    return "" if who.model is None else f"model {who.model!r} version {who.version!r}: "


def _has_features(env: Envelope) -> bool:
    """``features`` present and not null (as on the typed path, where null is None)."""
    raw = env.features
    return len(raw) > 0 and (len(raw) != 4 or bytes(raw) != b"null")


def _features_or_empty(raw: bytes) -> bytes:
    return b"{}" if not raw or raw == b"null" else raw
