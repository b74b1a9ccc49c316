# syntax=docker/dockerfile:1.7
# mlmon container images, two targets:
#
#   sidecar (the default, last stage): `mlmon serve`, and with another command the
#       responder (`mlmon respond`); no pyarrow, so it stays small enough for every pod.
#   batch: mlmon with the `files` extra (pyarrow) for `mlmon batch` and
#       `mlmon profile build` on CSV/Parquet files, e.g. in a Kubernetes Job.
#
#   docker build --target sidecar -t mlmon:0.1.0 .
#   docker build --target batch -t mlmon-batch:0.1.0 .
#
# Without a Docker engine, scripts/build-image.sh (make image) builds the same two images
# with mmdebstrap and buildah; it reads BATCH_EXTRAS below, so both builds agree.
#
# Runs as UID 10001 with a read-only root filesystem: the only paths written at
# run time are the socket directory and the state directory, both volumes.

ARG PYTHON_VERSION=3.11.13
ARG DEBIAN_RELEASE=bookworm
# The extras of the batch image (pyproject.toml [project.optional-dependencies]); the
# sidecar image installs mlmon without extras.
ARG BATCH_EXTRAS=files

# ---- stage 1: build wheels for mlmon and every dependency of both images -----------
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS build
ARG BATCH_EXTRAS
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY exporter ./exporter
# the deployment files the wheel carries (setup.py), so `mlmon rules check` works in the image
COPY rules ./rules
COPY alertmanager ./alertmanager
COPY grafana ./grafana
COPY k8s/base/prometheusrule.yaml ./k8s/base/prometheusrule.yaml
COPY prometheus ./prometheus
RUN pip wheel --wheel-dir /wheels ".[${BATCH_EXTRAS}]"

# ---- batch: mlmon[files], for batch jobs and profile builds -----------------------
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS batch
ARG BATCH_EXTRAS
LABEL org.opencontainers.image.title="mlmon" \
      org.opencontainers.image.description="mlmon for batch jobs: drift and performance reports of CSV/Parquet/JSONL files, reference profiles." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="python:3.11.13-slim-bookworm"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "mlmon[${BATCH_EXTRAS}]" \
    && groupadd --system --gid 10001 mlmon \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin mlmon \
    && mkdir -p /var/run/mlmon /var/lib/mlmon /etc/mlmon \
    && chown 10001:10001 /var/run/mlmon /var/lib/mlmon
USER 10001:10001
WORKDIR /var/lib/mlmon
ENTRYPOINT ["mlmon"]
CMD ["--help"]

# ---- sidecar: runtime, no compilers, no pip cache, no source tree, no pyarrow -------
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS sidecar
LABEL org.opencontainers.image.title="mlmon" \
      org.opencontainers.image.description="Prometheus-native monitoring sidecar for ML models: drift, prediction distribution and accuracy." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="python:3.11.13-slim-bookworm"
# No .pyc written at run time (read-only root); pip compiles them at install time.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# Wheels come in through a bind mount, so they never become a layer of this image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels mlmon \
    && groupadd --system --gid 10001 mlmon \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin mlmon \
    && mkdir -p /var/run/mlmon /var/lib/mlmon /etc/mlmon \
    && chown 10001:10001 /var/run/mlmon /var/lib/mlmon
USER 10001:10001
WORKDIR /var/lib/mlmon
# Metrics, /v1/events, /healthz and /readyz (exporter/config/model.py DEFAULT_HTTP).
EXPOSE 9847
ENTRYPOINT ["mlmon"]
CMD ["serve", "--config", "/etc/mlmon/mlmon.yaml", "--socket", "/var/run/mlmon/mlmon.sock", "--state-file", "/var/lib/mlmon/state.json"]
