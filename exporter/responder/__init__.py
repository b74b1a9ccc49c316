"""The mlmon responder: Alertmanager webhooks in, rollbacks and retraining runs out.

Modules: ``payload`` (webhook decode), ``config``/``config_load`` (YAML), ``clock``,
``schedule`` (retraining windows), ``action_history`` (dedupe, cooldown, daily cap:
``ActionHistory.admit``), ``retrain_queue``, ``audit`` (JSONL), ``metrics``, ``engine``
(decisions), ``app`` (aiohttp) and the backends (``kubernetes``, ``mlflow``, ``kubeflow``,
``webhook``) behind ``backend_protocol.Backend``, built by ``backend_factory``.
"""
