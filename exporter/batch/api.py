"""`exporter.analyze`: `mlmon batch` for notebooks and pipelines.

``analyze(reference, current)`` returns the report `mlmon batch` renders (a ``BatchReport``,
here an ``AnalysisReport`` that also renders itself: ``.to_json()``, ``.to_html()``,
``.to_text()``).

The reference profile step is explicit or in memory:

- ``reference`` a profile (a ``Profile``, or the path of a profile JSON written by
  `mlmon profile build` / `mlmon init`): used as it is, exactly like ``mlmon batch --profile``;
- ``reference`` data (a CSV/Parquet/JSONL path, a pyarrow Table or a pandas DataFrame) with
  ``config`` (an mlmon.yaml path) and, when it holds several models, ``model``: the profile is
  built in memory from the reference, as `mlmon profile build` would write it.

``current`` is a file path, a pyarrow Table or a pandas DataFrame (pandas is optional: a
DataFrame is converted with ``pyarrow.Table.from_pandas``). Tables are written to a temporary
Parquet file and read by the same reader as files.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from exporter.batch.report import BatchReport, Chunking
from exporter.batch.run import BatchOptions, run_batch
from exporter.config.model import ModelConfig
from exporter.profile.model import Profile
from exporter.stats.thresholds import Thresholds

PROFILE_SUFFIX = ".json"  # a profile; .jsonl / .ndjson are data


@dataclasses.dataclass(frozen=True)
class AnalysisReport(BatchReport):
    """The report of `mlmon batch`, with its renderers as methods."""

    def to_json(self) -> str:
        from exporter.batch import jsonout

        return jsonout.render(self)

    def to_html(self) -> str:
        from exporter.batch import html

        return html.render(self)

    def to_text(self) -> str:
        from exporter.batch import text

        return text.render(self)

    def to_dict(self) -> dict[str, Any]:
        from exporter.batch import jsonout

        return jsonout.report_dict(self)


def _is_path(x: object) -> bool:
    return isinstance(x, str | Path)


@contextmanager
def _as_file(data: Any, tmp: Path, name: str) -> Iterator[Path]:
    """A path to read ``data`` from: the path itself, or a Parquet copy of a table."""
    if _is_path(data):
        yield Path(data)
        return
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise TypeError("tables and DataFrames need pyarrow: pip install 'mlmon[files]'") from None
    table = data
    if not isinstance(table, pa.Table):
        if type(data).__module__.split(".")[0] != "pandas":
            raise TypeError(f"{name}: expected a file path, a pyarrow Table or a pandas "
                            f"DataFrame, got {type(data).__name__}")
        table = pa.Table.from_pandas(data, preserve_index=False)
    path = tmp / f"{name}.parquet"
    pq.write_table(table, path)
    yield path


def _model(config: str | Path | None, model: str | None, version: str | None) -> ModelConfig:
    from exporter.config.load import load_config

    if config is None:
        raise TypeError("reference data needs config= (an mlmon.yaml, e.g. from `mlmon init`) "
                        "to build its profile; or pass a profile JSON as reference")
    models = [m for m in load_config(config).models
              if (model is None or m.name == model) and (version is None or m.version == version)]
    if len(models) != 1:
        raise ValueError(f"{config}: {len(models)} models match model={model!r} "
                         f"version={version!r}; name one")
    return models[0]


def _profile(reference: Any, model: ModelConfig | None, tmp: Path,
             config: str | Path | None, name: str | None, version: str | None) -> Profile:
    from exporter.profile.build import build_profile
    from exporter.profile.files import load_profile

    if isinstance(reference, Profile):
        return reference
    if _is_path(reference) and Path(reference).suffix.lower() == PROFILE_SUFFIX:
        return load_profile(reference)
    m = model or _model(config, name, version)
    with _as_file(reference, tmp, "reference") as path:
        return build_profile(m, path)


def analyze(reference: Any, current: Any, *, config: str | Path | None = None,
            model: str | None = None, version: str | None = None,
            prediction_column: str | None = None, label_column: str | None = None,
            chunk_size: int | None = None) -> AnalysisReport:
    """Drift (and, with labels, performance) of ``current`` against ``reference``.

    ``config``: an mlmon.yaml; its model's thresholds, prediction kind and column names
    apply (as ``mlmon batch --config``), and it is needed to build a profile from reference
    data. ``model``/``version`` pick the model when the config holds several (default: the
    profile's). ``chunk_size``: also judge every so many rows (``mlmon batch --chunk-size``).
    Raises ``exporter.batch.errors.BatchInputError`` for unreadable input, like `mlmon batch`.
    """
    with tempfile.TemporaryDirectory(prefix="mlmon-analyze-") as tmp_dir:
        tmp = Path(tmp_dir)
        picked: ModelConfig | None = None
        if config is not None and not (isinstance(reference, Profile) or (
                _is_path(reference) and Path(reference).suffix.lower() == PROFILE_SUFFIX)):
            picked = _model(config, model, version)
        profile = _profile(reference, picked, tmp, config, model, version)
        if config is not None and picked is None:
            from exporter.config.load import load_config

            picked = load_config(config).model(model or profile.model,
                                               version or profile.version)
        thresholds = picked.thresholds if picked is not None else Thresholds()
        with _as_file(current, tmp, "current") as path:
            options = BatchOptions(
                input=path,
                prediction_column=prediction_column or (
                    picked.prediction_column if picked else "prediction"),
                label_column=label_column or (picked.label_column if picked else "label"),
                label_named=label_column is not None,
                chunking=Chunking(rows=chunk_size) if chunk_size is not None else None)
            report = run_batch(profile, picked, options, thresholds)
    values = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    return AnalysisReport(**values)
