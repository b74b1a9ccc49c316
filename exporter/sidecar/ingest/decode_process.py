"""Decoding in child processes, so the parent's GIL is left to sockets and state.

The ingest worker sends each micro-batch of NDJSON lines (joined by newlines)
to a child over a pipe; the child decodes it with the same ``BatchDecoder``
and sends back the ``DecodedBatch`` (plain lists and byte buffers) as a pickle
over a second pipe. Children are fed round-robin and read back in the same
order, so batches are applied in arrival order. The pipes are enlarged to
1 MiB (the unprivileged Linux maximum) so a whole reply fits: the child never
waits for the parent's busy GIL to take it in small pieces.

A child is ``python -m exporter.sidecar.ingest.decode_process IN OUT``: no multiprocessing
bootstrap (no re-import of the parent's main module, no resource tracker).
It runs in its own process group (a terminal's Ctrl-C reaches only the
sidecar) and ignores SIGINT and SIGTERM, since the parent drains through it on
shutdown and then closes its input, which ends it; if the parent dies, the
pipe closes all the same.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import signal
import subprocess
import sys
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

from exporter.config.model import Config
from exporter.sidecar.ingest.decode import BatchDecoder, DecodedBatch

JOIN_TIMEOUT = 5.0  # seconds to wait for a child to end after its input is closed
PIPE_SIZE = 1 << 20  # bytes; /proc/sys/fs/pipe-max-size, the default limit without root
_ROOT = str(Path(__file__).resolve().parents[3])  # where the exporter package is


class DecoderGone(Exception):
    """The child process died or its pipe broke; the batch must be decoded elsewhere."""


class BatchFailed(Exception):
    """Decoding raised in the child (a bug): the traceback text, for the log."""


class DecoderProcess:
    """One child process decoding batches in the order they are sent."""

    def __init__(self, config: Config, name: str = "mlmon-decoder") -> None:
        self.name = name
        self.config = config
        self.started = time.monotonic()
        self.broken = False  # set when a reply could not be read: the worker replaces it
        child_in, to_child = os.pipe()
        from_child, child_out = os.pipe()
        resize = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
        for fd in (to_child, child_out):
            with contextlib.suppress(OSError):  # a smaller pipe is slower, not wrong
                if resize is not None:
                    fcntl.fcntl(fd, resize, PIPE_SIZE)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", __name__, str(child_in), str(child_out)],
                pass_fds=(child_in, child_out), stdin=subprocess.DEVNULL, env=env,
                process_group=0)  # a terminal's Ctrl-C goes to the sidecar, not here
        except BaseException:
            os.close(to_child)
            os.close(from_child)
            raise
        finally:
            os.close(child_in)
            os.close(child_out)
        self._out = Connection(to_child, readable=False)
        self._in = Connection(from_child, writable=False)
        self._out.send_bytes(pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL))

    @property
    def pid(self) -> int:
        return self._proc.pid

    def send(self, lines: list[bytes]) -> None:
        try:
            self._out.send_bytes(b"\n".join(lines))
        except (OSError, ValueError) as exc:
            raise DecoderGone(f"{self.name} (pid {self._proc.pid}): {exc}") from exc

    def receive(self) -> bytes:
        """The next reply, raw: reading it takes no GIL time to speak of."""
        try:
            return self._in.recv_bytes()
        except (EOFError, OSError, ValueError) as exc:
            raise DecoderGone(f"{self.name} (pid {self._proc.pid}) exited "
                              f"(code {self._proc.poll()})") from exc

    @staticmethod
    def result(data: bytes) -> DecodedBatch:
        """The decoded batch of a reply; BatchFailed when decoding raised in the child."""
        result = pickle.loads(data)
        if isinstance(result, str):
            raise BatchFailed(result)
        if not isinstance(result, DecodedBatch):
            raise BatchFailed(f"unexpected reply {type(result).__name__}")
        return result

    def exited(self) -> bool:
        """Whether the child has ended; reaps it if so (no zombie left behind)."""
        return self._proc.poll() is not None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    def stop(self) -> None:
        """Kill a dead or broken child and reap it (its receiver closes the reply pipe)."""
        self._out.close()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(JOIN_TIMEOUT)

    def close_replies(self) -> None:
        """Close the reply pipe (the one thread reading it does so, once it is done)."""
        self._in.close()

    def close(self) -> None:
        """Close the child's input (it then exits) and reap it."""
        self._out.close()
        try:
            self._proc.wait(JOIN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(JOIN_TIMEOUT)
        self._in.close()


def child_main(fd_in: int, fd_out: int) -> None:
    """The child: decode what arrives on ``fd_in`` until the parent closes it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when decoding stops
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = Connection(fd_in, writable=False)
    out = Connection(fd_out, readable=False)
    try:
        config = pickle.loads(conn.recv_bytes())
    except (EOFError, OSError):
        return
    decoder = BatchDecoder(config)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the parent closed the pipe, or died
        try:
            reply = pickle.dumps(decoder.decode(data.split(b"\n") if data else []),
                                 protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # a bug: report it, keep decoding the next batches
            reply = pickle.dumps(traceback.format_exc())
        try:
            out.send_bytes(reply)
        except OSError:
            return


if __name__ == "__main__":
    child_main(int(sys.argv[1]), int(sys.argv[2]))
