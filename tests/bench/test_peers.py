"""The peers benchmark's workload: known shifts where documented, nowhere else.

Checks the generator with numpy on smaller tables (fast); needs no peer virtualenv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.peer_jobs import workload
from exporter.config.load import load_config

REF, CUR = 40_000, 10_000


@pytest.fixture(scope="module")
def tables() -> tuple[pa.Table, pa.Table]:
    return workload.make_tables(REF, CUR)


def _psi(ref: np.ndarray, cur: np.ndarray) -> float:
    cats = np.unique(ref)
    p = np.array([(ref == c).mean() for c in cats])
    q = np.array([(cur == c).mean() for c in cats])
    return float(np.sum((q - p) * np.log(q / p)))


def test_same_seed_same_tables(tables: tuple[pa.Table, pa.Table]) -> None:
    again = workload.make_tables(REF, CUR)
    assert tables[0].equals(again[0]) and tables[1].equals(again[1])


def test_shape(tables: tuple[pa.Table, pa.Table]) -> None:
    ref, cur = tables
    assert (ref.num_rows, cur.num_rows) == (REF, CUR)
    assert ref.column_names == [*workload.NUMERIC, *workload.CATEGORICAL] == cur.column_names
    assert len(workload.NUMERIC) == 20 and len(workload.CATEGORICAL) == 5
    assert all(ref.column(n).null_count == 0 == cur.column(n).null_count
               for n in ref.column_names)
    assert set(workload.SHIFTS) == {*workload.NUMERIC_SHIFTS, "cat_0"}


def test_numeric_shifts_are_as_documented(tables: tuple[pa.Table, pa.Table]) -> None:
    ref, cur = tables
    for name in workload.NUMERIC:
        r, c = ref.column(name).to_numpy(), cur.column(name).to_numpy()
        shift, scale = workload.NUMERIC_SHIFTS.get(name, (0.0, 1.0))
        mean_shift = (c.mean() - r.mean()) / r.std()
        assert mean_shift == pytest.approx(shift, abs=0.05), name
        assert c.std() / r.std() == pytest.approx(scale, abs=0.05), name


def test_categorical_shift_only_in_cat_0(tables: tuple[pa.Table, pa.Table]) -> None:
    ref, cur = tables
    psi = {n: _psi(ref.column(n).to_numpy(zero_copy_only=False),
                   cur.column(n).to_numpy(zero_copy_only=False))
           for n in workload.CATEGORICAL}
    assert psi["cat_0"] == pytest.approx(0.151, abs=0.02)
    assert all(v < 0.01 for n, v in psi.items() if n != "cat_0"), psi


def test_written_files_and_config(tmp_path: Path) -> None:
    w = workload.write(tmp_path, ref_rows=1_000, cur_rows=500)
    assert pq.read_table(w.current).num_rows == 500
    model = load_config(w.config).models[0]
    assert [f.name for f in model.features] == [*workload.NUMERIC, *workload.CATEGORICAL]
    assert [f.kind for f in model.features].count("categorical") == 5
