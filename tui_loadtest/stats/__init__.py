"""Statistics: the log-linear latency histogram and the run aggregates built from it."""
