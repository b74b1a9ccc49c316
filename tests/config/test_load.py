"""Config loading: a full valid file, env overrides, and one test per kind of mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from exporter.config.errors import ConfigError
from exporter.config.load import load_config
from exporter.config.model import (
    Config,
    FeatureConfig,
    LabelConfig,
    PredictionConfig,
    ServerConfig,
    WindowConfig,
)
from exporter.stats.thresholds import Thresholds
from tests.paths import EXAMPLES

VALID = """\
compute_interval: 30s
models:
  - name: fraud
    version: "3"
    profile: profiles/fraud-3.json
    prediction: {kind: classification, classes: ["0", "1"]}
    features:
      amount: numeric
      country: categorical
    window: {size: 5000, max_age: 1h}
    thresholds: {psi_medium: 0.2, psi_high: 0.4, ks_alpha: 0.05, chi2_alpha: 0.02,
                 min_samples: 300, accuracy_floor: 0.9}
    labels: {ttl: 24h, max_pending: 2000, window: 700}
    bins: 12
    sample_size: 4000
    max_categories: 50
    label_column: is_fraud
  - name: price
    version: 7
    prediction: {kind: regression}
    features: {sqft: numeric}
server:
  socket: /run/mlmon/mlmon.sock
  socket_mode: "0600"
  tcp: 127.0.0.1:9848
  http: 0.0.0.0:9900
  state_file: /var/lib/mlmon/state.json
  state_interval: 500ms
  max_line_bytes: 4096
"""


def write(tmp_path: Path, text: str, name: str = "mlmon.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_full_valid_file_loads_to_expected_objects(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    cfg = load_config(path, env={})
    assert isinstance(cfg, Config)
    assert cfg.path == path
    assert cfg.compute_interval == 30.0
    fraud, price = cfg.models
    assert fraud.name == "fraud" and fraud.version == "3"
    assert fraud.profile == tmp_path / "profiles" / "fraud-3.json"
    assert fraud.prediction == PredictionConfig("classification", ("0", "1"))
    assert fraud.features == (FeatureConfig("amount", "numeric"),
                              FeatureConfig("country", "categorical"))
    assert fraud.window == WindowConfig(5000, 3600.0)
    assert fraud.thresholds == Thresholds(0.2, 0.4, 0.05, 0.02, 300, accuracy_floor=0.9)
    assert fraud.labels == LabelConfig(86_400.0, 2000, 700)
    assert (fraud.bins, fraud.sample_size, fraud.max_categories) == (12, 4000, 50)
    assert fraud.label_column == "is_fraud" and fraud.prediction_column == "prediction"
    assert price.version == "7" and price.prediction == PredictionConfig("regression")
    assert price.profile is None and price.window == WindowConfig()
    assert price.thresholds == Thresholds()
    assert cfg.model("price") is price and cfg.model("fraud", "3") is fraud
    assert cfg.server == ServerConfig(
        socket=Path("/run/mlmon/mlmon.sock"), socket_mode=0o600, tcp="127.0.0.1:9848",
        http="0.0.0.0:9900", state_file=Path("/var/lib/mlmon/state.json"),
        state_interval=0.5, max_line_bytes=4096)


def test_minimal_file_takes_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        models:
          - {name: m, version: "1", prediction: {kind: regression}, features: {x: numeric}}
        """)
    cfg = load_config(path, env={})
    assert cfg.compute_interval == 15.0
    assert cfg.server == ServerConfig()
    m = cfg.models[0]  # the documented defaults
    assert (m.bins, m.sample_size, m.max_categories, m.window.size, m.window.max_age) == (
        10, 10_000, 100, 10_000, None)
    assert (m.label_column, m.prediction_column, m.id_column) == ("label", "prediction", "id")


def test_early_labels_and_join_bytes(tmp_path: Path) -> None:
    text = _model(labels="{early_ttl: 2m, max_early: 0, max_pending_bytes: 1048576}")
    labels = load_config(write(tmp_path, text), env={}).models[0].labels
    assert (labels.early_ttl, labels.max_early, labels.max_pending_bytes) == (120.0, 0, 1 << 20)
    default = load_config(write(tmp_path, _model(), "d.yaml"), env={}).models[0].labels
    assert (default.early_ttl, default.max_early, default.max_pending_bytes) == (
        60.0, 10_000, 64 << 20)


def test_error_drift_defaults_by_kind_and_overrides(tmp_path: Path) -> None:
    from exporter.stats.errordrift import CLASSIFICATION, REGRESSION, PageHinkleyParams

    clf = load_config(write(tmp_path, _model(), "c.yaml"), env={}).models[0]
    assert clf.error_drift.enabled
    assert clf.error_drift.params("classification") == CLASSIFICATION
    reg = load_config(write(tmp_path, _model(prediction="{kind: regression}"), "r.yaml"),
                      env={}).models[0]
    assert reg.error_drift.params(reg.prediction.kind) == REGRESSION
    assert CLASSIFICATION != REGRESSION
    text = _model(error_drift="{delta: 0.02, threshold: 30, alpha: 0.999}")
    given = load_config(write(tmp_path, text, "g.yaml"), env={}).models[0].error_drift
    assert given.params("classification") == PageHinkleyParams(0.02, 30.0, 100, 0.999)
    text = _model(error_drift="{enabled: false, min_instances: 7}")
    off = load_config(write(tmp_path, text, "o.yaml"), env={}).models[0].error_drift
    assert not off.enabled and off.params("regression").min_instances == 7


def test_max_id_bytes(tmp_path: Path) -> None:
    text = _model() + "server: {max_id_bytes: 64}\n"
    assert load_config(write(tmp_path, text), env={}).server.max_id_bytes == 64
    assert load_config(write(tmp_path, _model(), "d.yaml"), env={}).server.max_id_bytes == 256
    with pytest.raises(ConfigError, match=r"server\.max_id_bytes"):
        load_config(write(tmp_path, _model() + "server: {max_id_bytes: 4}\n", "e.yaml"), env={})


def test_connection_limits_and_ingest_token(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("0123456789abcdef0123\n", encoding="utf-8")
    text = _model() + (f"server: {{max_connections: 8, idle_timeout: 30s, "
                       f"ingest_token_file: {token}}}\n")
    srv = load_config(write(tmp_path, text), env={}).server
    assert (srv.max_connections, srv.idle_timeout, srv.ingest_token_file) == (8, 30.0, token)
    srv = load_config(write(tmp_path, _model(), "d.yaml"), env={}).server
    assert (srv.max_connections, srv.idle_timeout, srv.ingest_token_file) == (256, 300.0, None)
    for bad, words in (("max_connections: 0", "too small"), ("idle_timeout: soon", "duration"),
                       (f"ingest_token_file: {tmp_path / 'missing'}", "cannot read"),
                       (f"ingest_token_file: {write(tmp_path, 'short', 't')}", "5 characters")):
        with pytest.raises(ConfigError, match=words) as info:
            load_config(write(tmp_path, _model() + f"server: {{{bad}}}\n", "e.yaml"), env={})
        assert info.value.key == "server." + bad.split(":")[0]


def test_env_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    cfg = load_config(path, env={
        "MLMON_COMPUTE_INTERVAL": "2m", "MLMON_SOCKET": "/tmp/x.sock",
        "MLMON_HTTP": "127.0.0.1:19000", "MLMON_TCP": "[::1]:19001",
        "MLMON_STATE_FILE": "none"})
    assert cfg.compute_interval == 120.0
    assert cfg.server.socket == Path("/tmp/x.sock")
    assert cfg.server.http == "127.0.0.1:19000"
    assert cfg.server.tcp == "[::1]:19001"
    assert cfg.server.state_file is None
    assert cfg.server.socket_mode == 0o600  # untouched keys keep the file's values
    off = load_config(path, env={"MLMON_SOCKET": "", "MLMON_TCP": "off"})
    assert off.server.socket is None and off.server.tcp is None


def test_env_defaults_to_the_process_environment(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLMON_HTTP", "127.0.0.1:19500")
    assert load_config(write(tmp_path, VALID)).server.http == "127.0.0.1:19500"


def test_env_override_is_validated(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"MLMON_TCP": "10.0.0.5:9000"})
    assert info.value.key == "env MLMON_TCP"
    assert "loopback" in info.value.allowed
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"MLMON_COMPUTE_INTERVAL": "soon"})
    assert info.value.key == "env MLMON_COMPUTE_INTERVAL"


def _model(**over: str) -> str:
    parts = {
        "name": "fraud", "version": '"3"',
        "prediction": '{kind: classification, classes: ["0", "1"]}',
        "features": "{amount: numeric, country: categorical}",
    } | over
    body = "\n".join(f"    {k}: {v}" for k, v in parts.items() if v != "")
    return "models:\n  - " + body.lstrip() + "\n"


# (name, file text, key path, words in the problem, words in "allowed")
MISTAKES = [
    ("unknown top-level key", "compute_intervall: 15s\n" + _model(),
     "compute_intervall", "did you mean 'compute_interval'", "models"),
    ("unknown model key", _model(thresholdz="{psi_high: 0.3}"),
     "models[0].thresholdz", "did you mean 'thresholds'", "thresholds"),
    ("unknown threshold key", _model(thresholds="{psi_hgh: 0.3}"),
     "models[0].thresholds.psi_hgh", "did you mean 'psi_high'", "psi_high"),
    ("wrong type for window size", _model(window="{size: lots}"),
     "models[0].window.size", "expected an integer", "integer >= 1"),
    ("negative window size", _model(window="{size: -5}"),
     "models[0].window.size", "too small", "integer >= 1"),
    ("zero sample size", _model(sample_size="0"),
     "models[0].sample_size", "too small", "integer >= 1"),
    ("bad duration", _model(window="{size: 10, max_age: 1 hour}"),
     "models[0].window.max_age", "not a duration", '"15s"'),
    ("threshold order", _model(thresholds="{psi_medium: 0.3, psi_high: 0.2}"),
     "models[0].thresholds.psi_high", "greater than psi_medium", "psi_medium < psi_high"),
    ("alpha out of range", _model(thresholds="{ks_alpha: 1.5}"),
     "models[0].thresholds.ks_alpha", "out of range", "(0, 1)"),
    ("duplicate feature", _model(features="{amount: numeric, amount: categorical}"),
     "models[0].features.amount", "more than once", "each feature once"),
    ("unknown feature kind", _model(features="{amount: numerical}"),
     "models[0].features.amount", "unknown feature kind 'numerical'", "numeric, categorical"),
    ("reserved feature name", _model(features="{__prediction__: numeric}"),
     "models[0].features.__prediction__", "reserved", "not starting with '__'"),
    ("unprintable feature name", _model(features='{"a\\"b": numeric}'),
     'models[0].features.a"b', "a quote, a backslash", "printable names"),
    ("one class only", _model(prediction='{kind: classification, classes: ["1", "1"]}'),
     "models[0].prediction.classes", "at least 2 distinct", "at least 2 distinct"),
    ("classes on a regression model", _model(prediction='{kind: regression, classes: [a, b]}'),
     "models[0].prediction.classes", "no classes", "omit classes"),
    ("unknown prediction kind", _model(prediction="{kind: ranking}"),
     "models[0].prediction.kind", "'ranking'", "classification, regression"),
    ("missing features", _model(features=""),
     "models[0].features", "missing required key", "mapping of feature name"),
    ("duplicate model version", "models:\n" + _model()[len("models:\n"):] * 2,
     "models[1]", "already defined at models[0]", "each (name, version) once"),
    ("socket mode not octal", _model() + "server: {socket_mode: '0999'}\n",
     "server.socket_mode", "not an octal mode", '"0660"'),
    ("tcp not loopback", _model() + "server: {tcp: 0.0.0.0:9848}\n",
     "server.tcp", "not a loopback address", "loopback HOST:PORT"),
    ("http without port", _model() + "server: {http: localhost}\n",
     "server.http", "expected HOST:PORT", "HOST:PORT"),
    ("models not a list", "models: {name: fraud}\n",
     "models", "expected a non-empty list", "at least one model"),
    ("duplicate key", _model() + "compute_interval: 5s\ncompute_interval: 10s\n",
     "compute_interval", "given more than once", "each key once"),
    ("label ttl zero", _model(labels="{ttl: 0s}"),
     "models[0].labels.ttl", "not a positive duration", '"24h"'),
    ("yaml syntax error", "models: [\n  - name: x\n", "line ", "YAML syntax error", "valid YAML"),
    ("max_early negative", _model(labels="{max_early: -1}"),
     "models[0].labels.max_early", "too small", "an integer >= 0"),
    ("max_pending_bytes tiny", _model(labels="{max_pending_bytes: 10}"),
     "models[0].labels.max_pending_bytes", "too small", "an integer >= 1024"),
    ("unknown error_drift key", _model(error_drift="{treshold: 5}"),
     "models[0].error_drift.treshold", "did you mean 'threshold'", "threshold"),
    ("error_drift threshold zero", _model(error_drift="{threshold: 0}"),
     "models[0].error_drift.threshold", "out of range", "(0, "),
    ("error_drift negative delta", _model(error_drift="{delta: -0.1}"),
     "models[0].error_drift.delta", "out of range", "[0, "),
    ("error_drift alpha above 1", _model(error_drift="{alpha: 1.5}"),
     "models[0].error_drift.alpha", "out of range", "(0, 1]"),
    ("error_drift min_instances zero", _model(error_drift="{min_instances: 0}"),
     "models[0].error_drift.min_instances", "too small", "an integer >= 1"),
    ("error_drift enabled not boolean", _model(error_drift="{enabled: 'no'}"),
     "models[0].error_drift.enabled", "expected a boolean", "true or false"),
    ("error_drift not a mapping", _model(error_drift="off"),
     "models[0].error_drift", "expected a mapping", "enabled"),
]


@pytest.mark.parametrize(("text", "key", "problem", "allowed"),
                         [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_mistake_names_file_key_and_fix(tmp_path: Path, text: str, key: str, problem: str,
                                        allowed: str) -> None:
    path = write(tmp_path, text, "bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert info.value.key.startswith(key), message
    assert key in message
    assert problem in message, message
    assert allowed in info.value.allowed, message


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found") as info:
        load_config(tmp_path / "nope.yaml", env={})
    assert str(tmp_path / "nope.yaml") in str(info.value)
    empty = write(tmp_path, "# nothing\n", "empty.yaml")
    with pytest.raises(ConfigError, match="empty") as info:
        load_config(empty, env={})
    assert info.value.file == str(empty)


def test_profile_path_is_relative_to_the_config_folder(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    path = write(sub, _model(profile="p/fraud.json"))
    assert load_config(path, env={}).models[0].profile == sub / "p" / "fraud.json"
    absolute = write(sub, _model(profile=str(tmp_path / "abs.json")))
    assert load_config(absolute, env={}).models[0].profile == tmp_path / "abs.json"


def test_socket_mode_accepts_octal_string_and_int(tmp_path: Path) -> None:
    as_str = write(tmp_path, _model() + "server: {socket_mode: '0640'}\n", "a.yaml")
    as_int = write(tmp_path, _model() + "server: {socket_mode: 416}\n", "b.yaml")
    assert load_config(as_str, env={}).server.socket_mode == 0o640
    assert load_config(as_int, env={}).server.socket_mode == 0o640


def test_shipped_examples_load() -> None:
    root = EXAMPLES
    fraud = load_config(root / "fraud" / "mlmon.yaml", env={}).model("fraud")
    assert fraud.profile == root / "fraud" / "profile.json"
    assert [f.name for f in fraud.features if f.kind == "categorical"] == ["country", "channel"]
