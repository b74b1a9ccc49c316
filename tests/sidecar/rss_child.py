"""A sidecar alone in a child process, so its RSS can be read from /proc: ``python -m``.

Prints ``{"http": URL, "socket": PATH}`` once listening and stops when stdin closes.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from exporter.sidecar.runtime import Sidecar
from tests.factories import config, fraud_model
from tests.sidecar.threaded import running


def main() -> None:
    tmp = Path(sys.argv[1])
    cfg = config(fraud_model(), tmp=tmp, decode_processes=0, max_connections=2000)
    with running(Sidecar(cfg, {})) as r:
        print(json.dumps({"http": r.http, "socket": str(tmp / "mlmon.sock")}), flush=True)
        done = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
        done.wait(120)


if __name__ == "__main__":
    main()
