"""LineSplitter: lines across chunks, over-long lines dropped whole and counted."""

from __future__ import annotations

from exporter.sidecar.ingest.lines import LineSplitter


def test_splitter_reassembles_lines_across_chunks() -> None:
    data = b'{"a":1}\n{"b":2}\n\n{"c":3}\n{"d"'
    s = LineSplitter(100)
    out: list[bytes] = []
    for i in range(0, len(data), 3):
        out += s.feed(data[i:i + 3])
    out += s.finish()
    assert out == [b'{"a":1}', b'{"b":2}', b'{"c":3}', b'{"d"']


def test_overlong_line_dropped_whole_even_across_chunks() -> None:
    s = LineSplitter(10)
    out = s.feed(b"short\n" + b"x" * 25)
    out += s.feed(b"y" * 30)
    out += s.feed(b"zz\nnext\n" + b"w" * 11 + b"\nlast")
    out += s.finish()
    assert out == [b"short", b"next", b"last"]
    assert s.take_too_long() == 2 and s.take_too_long() == 0


def test_skip_counts_the_lines_it_drops_and_keeps_line_boundaries() -> None:
    s = LineSplitter(100)
    assert s.feed(b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert s.skip(b':2}\n{"c":3}\n{"d"') == 2  # completes "b", then "c"; "d" is pending
    assert s.feed(b':4}\n{"e":5}\n') == [b'{"d":4}', b'{"e":5}']
    assert s.skip(b"no newline yet") == 0
    assert s.skip(b" still\n") == 1
