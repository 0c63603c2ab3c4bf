"""Site views, one module per domain."""
