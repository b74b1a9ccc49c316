"""Pure drift, distribution and performance statistics over numpy arrays.

No I/O, no asyncio, no logging, no prometheus_client: every function here is
a pure function of its arguments and is checked against scipy in the tests.
"""
