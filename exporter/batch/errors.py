"""The one error type of batch analysis: bad input, reported to the user, exit 2."""

from __future__ import annotations


class BatchInputError(ValueError):
    """A batch input that cannot be analysed; the message names the file and column."""
