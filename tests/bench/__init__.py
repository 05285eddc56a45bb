"""The benchmarks: `make bench` runs `python -m tests.bench` (see
docs/benchmarks.md). Kept out of the installed packages; no module here is
named test_*.py, so pytest does not collect them, and importing this package
touches no Django code.

- ingest: the HTTP bulk endpoint against raw COPY and the naive path, and
  the BENCH- estate (stores, SKUs, sources) the other sections share;
- snapshot: snapshot_mismatch on a large generated ERP snapshot;
- cases: the case screens' server time at benchmark scale;
- browser: the demo's pages in Chromium, load time per page;
- run: the arguments, the tables and var/bench/<section>.json.
"""
