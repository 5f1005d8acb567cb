"""Outputs built from a RunResult: the JSON report file and the text summaries."""
