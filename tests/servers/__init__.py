"""Small HTTP servers the tests (and benchmarks) start on loopback."""
