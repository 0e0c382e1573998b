"""Great Expectations gates between the layers: one suite module per layer and table, and the
gate runner (:mod:`expectations.gate`). Suites are built in code from the source contracts."""
