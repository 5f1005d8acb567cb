"""Held-out: a CI gate in a test_stop listener, as Locust's docs write one (fail ratio,
average and percentile response times from environment.runner.stats.total), rates and
content sizes read from the entries, and Locust's stats settings changed at import."""

import logging

from locust import HttpUser, constant, events, stats, task

stats.CSV_STATS_INTERVAL_SEC = 1
stats.CSV_STATS_FLUSH_INTERVAL_SEC = 10
stats.PERCENTILES_TO_REPORT = [0.50, 0.95, 0.99]
stats.CONSOLE_STATS_INTERVAL_SEC = stats.CONSOLE_STATS_INTERVAL_SEC * 2


@events.quitting.add_listener
def gate(environment, **kwargs):
    total = environment.runner.stats.total
    rates = (
        total.total_rps,
        total.total_fail_per_sec,
        total.current_rps,
        total.current_fail_per_sec,
    )
    sizes = {key: entry.avg_content_length for key, entry in environment.stats.entries.items()}
    logging.info("rates %s sizes %s", rates, sizes)
    print(
        f"GATE requests={total.num_requests} failures={total.num_failures}"
        f" none={total.num_none_requests} rps_positive={total.total_rps > 0}"
        f" median={total.median_response_time >= 0}"
        f" p95={total.get_response_time_percentile(0.95) >= 0}"
        f" sized={all(size > 0 for size in sizes.values())}"
        f" since_start={total.last_request_timestamp >= total.start_time}"
    )
    if total.fail_ratio > 0.01:
        logging.error("Test failed due to failure ratio > 1%")
        environment.process_exit_code = 3
    elif total.avg_response_time > 2000:
        environment.process_exit_code = 4
    elif total.get_response_time_percentile(0.95) > 8000:
        environment.process_exit_code = 5
    else:
        environment.process_exit_code = 0


class Shopper(HttpUser):
    wait_time = constant(0.02)

    @task(3)
    def items(self):
        self.client.get("/api/items")

    @task
    def missing(self):
        self.client.get("/status/404")
