"""Splitting a tap byte stream into lines; an over-long line is dropped whole and counted."""

from __future__ import annotations


class LineSplitter:
    """Splits a byte stream into lines; a line over ``max_line`` bytes is dropped whole."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.rest = b""
        self.discarding = False  # inside an over-long line, until its newline
        self.too_long = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = chunk.split(b"\n")
        if self.rest:  # only the first line is joined, not the whole chunk copied
            lines[0] = self.rest + lines[0]
        self.rest = lines.pop()
        if self.discarding and lines:
            lines.pop(0)
            self.discarding = False
        if len(self.rest) > self.max_line:
            if not self.discarding:
                self.too_long += 1
            self.discarding = True
            self.rest = b""
        if lines and max(map(len, lines)) > self.max_line:
            kept = [x for x in lines if len(x) <= self.max_line]
            self.too_long += len(lines) - len(kept)
            lines = kept
        return [x for x in lines if x] if b"" in lines else lines

    def skip(self, chunk: bytes) -> int:
        """Consume a chunk without splitting it (the queue is full); returns lines dropped."""
        last = chunk.rfind(b"\n")
        if last < 0:
            self.feed(chunk)  # no line ends here: keep tracking the partial line
            return 0
        lines = chunk.count(b"\n", 0, last + 1)
        if self.discarding:
            lines -= 1  # the over-long line's end was already counted as line_too_long
            self.discarding = False
        self.rest = b""
        return lines + len(self.feed(chunk[last + 1:]))

    def finish(self) -> list[bytes]:
        """The last line of a stream without a trailing newline."""
        rest, self.rest = self.rest, b""
        if self.discarding:
            self.discarding = False
            return []
        return [rest] if rest.strip() else []

    def truncated(self) -> int:
        """1 if the stream ended inside a line (not an over-long one, already counted), else 0;
        the partial line is discarded."""
        rest, self.rest = self.rest, b""
        cut = 0 if self.discarding or not rest.strip() else 1
        self.discarding = False
        return cut

    def take_too_long(self) -> int:
        n, self.too_long = self.too_long, 0
        return n
