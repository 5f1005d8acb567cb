"""A locustfile that adds its own command-line option and reads it back.

Exercises: events.init_command_line_parser adding --page-size (with a default, an
env_var and include_in_web_ui), environment.parsed_options.page_size read in a task,
and a user-level host attribute overridden by --host.

Rows: GET /api/items?limit=N (N is --page-size, 20 by default).
"""

from locust import HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def add_options(parser):
    parser.add_argument(
        "--page-size",
        type=int,
        default=20,
        env_var="LOCUST_PAGE_SIZE",
        include_in_web_ui=True,
        help="items per page",
    )


class Pager(HttpUser):
    host = "http://localhost:1"
    wait_time = constant(0.005)

    @task
    def page(self):
        size = self.environment.parsed_options.page_size
        self.client.get(f"/api/items?limit={size}")
