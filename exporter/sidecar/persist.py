"""State file: windows, counters and pending labels, written atomically and restored at start.

Format: one msgpack document (``format``/``schema`` header, numpy arrays as
dtype + shape + raw bytes). A model whose features, classes or profile changed
since the file was written is skipped (and logged); a file that cannot be
decoded at all is renamed aside to ``<name>.corrupt-<unix time>``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from exporter.atomic import write_atomic
from exporter.sidecar.label_join import JoinTable
from exporter.sidecar.state import ModelState, SidecarState
from exporter.sidecar.window import Ring

log = logging.getLogger("mlmon.persist")

FORMAT = "mlmon-state"
SCHEMA = 1
_DTYPES = {"float64", "int32", "int64"}


class StateFileError(ValueError):
    pass


def _arr(a: NDArray[Any]) -> dict[str, Any]:
    """An array's document; ``data`` is a view of the array (msgpack writes it as the same
    bytes as ``tobytes()`` would), so encoding a state copies no array a second time."""
    a = np.ascontiguousarray(a)
    data = a.data.cast("B") if a.size else b""
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": data}


def _unarr(d: Any) -> NDArray[Any]:
    if not isinstance(d, dict) or d.get("dtype") not in _DTYPES:
        raise StateFileError("bad array")
    shape = tuple(int(x) for x in d["shape"])
    return np.frombuffer(d["data"], dtype=d["dtype"]).reshape(shape).copy()


def _ring(rows_ts: tuple[NDArray[Any], NDArray[np.float64]]) -> dict[str, Any]:
    rows, ts = rows_ts
    return {"rows": _arr(rows), "ts": _arr(ts)}


def _load_ring(r: Ring, d: Any) -> None:
    rows, ts = _unarr(d["rows"]), _unarr(d["ts"])
    if rows.ndim != 2 or rows.shape[1] != r.width or len(ts) != len(rows):
        raise StateFileError("window shape changed")
    r.load(rows, ts)


def fingerprint(m: ModelState) -> list[Any]:
    """What must not change between writing and restoring a model's state."""
    cfg = m.config
    return [[f.name, f.kind] for f in cfg.features] + [
        list(cfg.prediction.classes), cfg.prediction.kind,
        m.profile_hash] + (  # segments widen the join table's rows: part of the fingerprint
        [] if m.segments is None else [["segments", *m.segments.spec.values]])


@dataclass(frozen=True)
class PendingCopy:
    """The join table's id -> slot map and its live rows (in slot order), copied as they
    are: only the live rows, not the whole preallocated table, and nothing ordered yet."""

    slots: dict[str, int]
    live: NDArray[np.bool_]
    rows: NDArray[np.float64]  # the live slots' rows, in slot order
    next: int
    cap: int

    @classmethod
    def of(cls, join: JoinTable) -> PendingCopy:
        """Copies cheap enough to take under the store's lock."""
        live = join.live.copy()
        return cls(dict(join.slots), live, join.data[live], join.next, join.cap)

    def encode(self) -> dict[str, Any]:
        """Ids and rows oldest first, as ``JoinTable.items`` orders them."""
        at = np.fromiter(self.slots.values(), dtype=np.int64, count=len(self.slots))
        order = np.argsort((at - self.next) % self.cap, kind="stable")
        ids = np.array(list(self.slots), dtype=object)[order].tolist()
        row_of_slot = np.cumsum(self.live) - 1  # a live slot's row in ``rows``
        return {"ids": ids, "rows": _arr(self.rows[row_of_slot[at[order]]])}


def capture_model(m: ModelState) -> dict[str, Any]:
    """Copies of a model's state: array and dict copies only, cheap enough to hold the lock."""
    jc = m.join_counters
    return {
        "model": m.config.name, "version": m.config.version, "fingerprint": fingerprint(m),
        "numeric": m.numeric.ordered(), "categorical": m.categorical.ordered(),
        "pred": m.pred.ordered(), "pairs": m.pairs.ring.ordered(),
        "categories": {s.name: list(s.categorical.categories) for s in m.features
                       if s.categorical is not None and not s.categorical.fixed},
        "buckets": {name: a.copy() for name, a in m.buckets.items()},
        "missing": dict(m.missing), "predictions_total": m.predictions_total,
        "labels": jc.labels, "joined": jc.joined, "unjoined": dict(jc.unjoined),
        "delay_buckets": jc.delay_buckets.copy(), "delay_sum": jc.delay_sum,
        "pending": PendingCopy.of(m.join),
        "early_counts": dict(jc.early),
        "early": list(m.join.early.labels.items()),  # (id, (label, received)), oldest first
        "score_counts": m.scores.counts.copy() if m.scores is not None else None,
        # multi-class probabilities of the window (the CBPE estimate); None otherwise
        "proba": m.proba.ordered() if m.proba is not None else None,
        "error_drift": m.error_drift.state() if m.error_drift is not None else None,
        # per-segment prediction counters and joined pairs (exporter.sidecar.segments)
        "segments": None if m.segments is None else {
            "predictions": m.segments.predictions.copy(), "pairs": m.segments.pairs.ordered()},
    }


def encode_model(c: dict[str, Any]) -> dict[str, Any]:
    """The state-file document of a captured model (the slow part: runs outside the lock)."""
    pending: PendingCopy = c["pending"]
    return {**c, **{ring: _ring(c[ring]) for ring in ("numeric", "categorical", "pred", "pairs")},
            "buckets": {name: _arr(a) for name, a in c["buckets"].items()},
            "delay_buckets": _arr(c["delay_buckets"]), "pending": pending.encode(),
            "early": {"ids": [i for i, _ in c["early"]],
                      "labels": [y for _, (y, _) in c["early"]],
                      "received": [t for _, (_, t) in c["early"]]},
            "score_counts": (None if c["score_counts"] is None
                             else _arr(c["score_counts"])),
            "proba": None if c["proba"] is None else _ring(c["proba"]),
            "segments": None if c.get("segments") is None else {
                "predictions": _arr(c["segments"]["predictions"]),
                "pairs": _ring(c["segments"]["pairs"])}}


def load_model(m: ModelState, d: dict[str, Any]) -> None:
    for s in m.features:
        learnt = d["categories"].get(s.name)
        if learnt is not None and s.categorical is not None and not s.categorical.fixed:
            s.categorical.set_categories([str(c) for c in learnt])
    _load_ring(m.numeric, d["numeric"])
    _load_ring(m.categorical, d["categorical"])
    _load_ring(m.pred, d["pred"])
    _load_ring(m.pairs.ring, d["pairs"])
    # a file written before the probability window was saved has none: it refills
    if m.proba is not None and d.get("proba") is not None:
        _load_ring(m.proba, d["proba"])
    for name, a in d["buckets"].items():
        arr = _unarr(a)
        if name not in m.buckets or arr.shape != m.buckets[name].shape:
            raise StateFileError(f"buckets of {name} changed")
        m.buckets[name][:] = arr
    m.missing.update({k: int(v) for k, v in d["missing"].items() if k in m.missing})
    m.predictions_total = int(d["predictions_total"])
    jc = m.join_counters
    jc.labels, jc.joined = int(d["labels"]), int(d["joined"])
    jc.unjoined.update({k: int(v) for k, v in d["unjoined"].items() if k in jc.unjoined})
    delay = _unarr(d["delay_buckets"])
    if delay.shape != jc.delay_buckets.shape:
        raise StateFileError("delay buckets changed")
    jc.delay_buckets[:] = delay
    jc.delay_sum = float(d["delay_sum"])
    ids, rows = [str(i) for i in d["pending"]["ids"]], _unarr(d["pending"]["rows"])
    if rows.shape != (len(ids), m.join.data.shape[1]):
        raise StateFileError("pending labels changed shape")
    if ids:
        m.join.add_many(ids, rows)
    # Early labels (held until their prediction comes) are absent from older state files.
    jc.early.update({k: int(v) for k, v in d.get("early_counts", {}).items() if k in jc.early})
    early = d.get("early", {"ids": [], "labels": [], "received": []})
    m.join.early.restore(zip(map(str, early["ids"]), map(float, early["labels"]),
                             map(float, early["received"]), strict=True))
    # The error stream's Page-Hinkley state is absent from older state files.
    if d.get("error_drift") is not None and m.error_drift is not None:
        try:
            m.error_drift.load(d["error_drift"])
        except (ValueError, TypeError, KeyError) as exc:  # the rest of the state is fine
            log.warning("model %s:%s: error-drift state unreadable (%s); the detector starts "
                        "afresh", m.config.name, m.config.version, exc)
            m.error_drift = type(m.error_drift)(m.error_drift.kind, m.error_drift.params)
    if m.segments is not None and d.get("segments") is not None:
        counts = _unarr(d["segments"]["predictions"])
        if counts.shape != m.segments.predictions.shape:
            raise StateFileError("segments changed")
        m.segments.predictions[:] = counts
        _load_ring(m.segments.pairs, d["segments"]["pairs"])
    # Score-bin counters (the fleet AUC's) are absent from older state files.
    if d.get("score_counts") is not None and m.scores is not None:
        counts = _unarr(d["score_counts"])
        if counts.shape != m.scores.counts.shape:
            raise StateFileError("score bins changed")
        m.scores.counts[:] = counts


def capture(store: SidecarState) -> dict[str, Any]:
    """Copy the store (call with its lock held); ``encode`` serialises the copy."""
    return {"format": FORMAT, "schema": SCHEMA, "written_at": time.time(),
            "received": dict(store.received), "rejected": dict(store.rejected),
            "models": [capture_model(m) for m in store.models.values()]}


def encode(copy: dict[str, Any]) -> bytes:
    """Serialise a ``capture`` (needs no lock: the copy is this caller's own)."""
    return msgspec.msgpack.encode({**copy, "models": [encode_model(c) for c in copy["models"]]})


def dump(store: SidecarState) -> bytes:
    """Serialise the store (call with its lock held)."""
    return encode(capture(store))


def save(store: SidecarState, path: Path) -> int:
    """Write the state with the project's atomic writer.

    Only the copy holds the lock: encoding 100k pending labels takes ~100 ms, and the
    ingest worker must not wait that long (its queue would overflow and drop events).
    """
    with store.lock:
        copy = capture(store)
    data = encode(copy)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, mode=0o600)  # ids and feature values: owner only
    return len(data)


def restore(store: SidecarState, path: Path) -> bool:
    """Load ``path`` into a fresh ``store``; never raises for a bad file (sets it aside)."""
    if not path.exists():
        return False
    try:
        doc = msgspec.msgpack.decode(path.read_bytes())
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise StateFileError("not an mlmon state file")
        if doc.get("schema") != SCHEMA:
            raise StateFileError(f"schema {doc.get('schema')!r}, this mlmon reads {SCHEMA}")
        staged = store.fresh()
        restored = []
        for d in doc["models"]:
            key = (str(d["model"]), str(d["version"]))
            m = staged.models.get(key)
            if m is None:
                log.warning("state file %s: model %s:%s no longer configured; skipped", path, *key)
                continue
            if d["fingerprint"] != fingerprint(m):
                log.warning("state file %s: model %s:%s changed (features, classes or profile); "
                            "its state is not restored", path, *key)
                continue
            load_model(m, d)
            restored.append(key)
        staged.received.update({k: int(v) for k, v in doc["received"].items()
                                if k in staged.received})
        staged.rejected.update({k: int(v) for k, v in doc["rejected"].items()})
    except (msgspec.DecodeError, StateFileError, KeyError, TypeError, ValueError,
            IndexError, AttributeError) as exc:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        try:
            path.rename(aside)
        except OSError as rename_exc:
            log.error("state file %s unreadable (%s) and cannot be set aside: %s", path, exc,
                      rename_exc)
            return False
        log.error("state file %s unreadable (%s); moved to %s, starting empty", path, exc, aside)
        return False
    with store.lock:
        store.models = staged.models
        store.received, store.rejected = staged.received, staged.rejected
    log.info("state restored from %s: %d model(s)", path, len(restored))
    return True
