"""Times of the --chunk-by column (exporter/batch/timestamps.py) against calendar.timegm."""

from __future__ import annotations

from calendar import timegm

import numpy as np
import pytest

from exporter.batch.errors import BatchInputError
from exporter.batch.timestamps import epoch_seconds, iso, parse_time, period_keys
from exporter.readers.chunks import Chunk, Predictions


@pytest.mark.parametrize(("text", "utc"), [
    ("2024-05-01", (2024, 5, 1, 0, 0, 0)),
    ("2024-05-01T12:30:00Z", (2024, 5, 1, 12, 30, 0)),
    ("2024-05-01T12:30:00", (2024, 5, 1, 12, 30, 0)),  # no offset: UTC
    ("2024-05-01 12:30:00+02:00", (2024, 5, 1, 10, 30, 0)),
    ("2024-05-01T00:15:00-05:00", (2024, 5, 1, 5, 15, 0)),
])
def test_iso_text_is_read_as_utc_seconds(text: str, utc: tuple[int, ...]) -> None:
    assert parse_time(text) == timegm(utc)


def test_numbers_are_epoch_seconds_and_other_text_is_not_a_time() -> None:
    assert parse_time("1714521600.5") == 1714521600.5
    assert parse_time("yesterday") is None


def test_iso_writes_utc_with_z() -> None:
    assert iso(timegm((2024, 5, 1, 10, 30, 0))) == "2024-05-01T10:30:00Z"
    assert iso(timegm((2024, 5, 1, 0, 0, 0)) + 0.25) == "2024-05-01T00:00:00.250000Z"


def _chunk(numbers: list[float], classes: list[object], start: int = 0) -> Chunk:
    p = Predictions(np.asarray(numbers, dtype=np.float64), np.asarray(classes, dtype=object),
                    None)
    return Chunk(start, len(numbers), {}, {}, {"ts": p})


def test_a_column_mixing_numbers_and_iso_text() -> None:
    nan = float("nan")
    chunk = _chunk([1714521600.0, nan], [None, "2024-05-01T01:00:00Z"])
    assert epoch_seconds(chunk, "ts", "f.csv").tolist() == [1714521600.0, 1714525200.0]


def test_a_missing_time_names_file_column_and_row() -> None:
    chunk = _chunk([1714521600.0, float("nan")], [None, None], start=100)
    with pytest.raises(BatchInputError, match=r"f\.csv: column 'ts', row 102: no timestamp"):
        epoch_seconds(chunk, "ts", "f.csv")


def test_period_keys_align_on_the_epoch() -> None:
    day = 86400.0
    seconds = np.array([0.0, day - 1, day, 19_844 * day + 5, -1.0])
    assert period_keys(seconds, day).tolist() == [0, 0, 1, 19_844, -1]


@pytest.mark.parametrize("texts", [
    ["1714521600", "1714521600.25", "-86400"],  # numbers
    ["2024-05-01", "2024-05-01T12:30:00", "2024-05-01 12:30:00.25"],  # no offset
    ["2024-05-01T12:30:00Z", "2024-05-01 12:30:00+02:00", "2024-05-01T00:15:00-05:00"],
    ["2024-05-01", "2024-05-01T12:30:00Z", "1714521600"],  # mixed: one value at a time
])
def test_a_text_column_reads_as_each_value_alone(texts: list[str]) -> None:
    chunk = Chunk(0, len(texts), {}, {"ts": np.asarray(texts, dtype=object)}, {})
    assert epoch_seconds(chunk, "ts", "f.csv").tolist() == [parse_time(t) for t in texts]
