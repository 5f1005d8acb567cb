"""``locust.contrib``: the parts of Locust's contrib that run here (``fasthttp``)."""
