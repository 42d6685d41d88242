"""governance.fms as the daemon enforces it: parse, materialise, findings, coverage snippets."""
