"""Client library for model servers: tap predictions and labels to the mlmon sidecar.

    from exporter.client import Tap
    tap = Tap("/var/run/mlmon/mlmon.sock")
    tap.prediction(model="fraud", features={"amount": 12.5}, prediction=0.93, id="req-1")
    tap.label(model="fraud", id="req-1", label=1)

Calls never raise and never block; see docs/client.md.
"""

from exporter.client.address import Address, parse_address
from exporter.client.aio import AsyncTap
from exporter.client.backoff import Backoff
from exporter.client.core import TapStats
from exporter.client.tap import Tap

__all__ = ["Address", "AsyncTap", "Backoff", "Tap", "TapStats", "parse_address"]
