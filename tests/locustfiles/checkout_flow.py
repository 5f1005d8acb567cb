"""A buyer who follows a fixed checkout sequence, then wanders the catalogue.

Exercises: SequentialTaskSet (steps in declaration order, a @task weight repeating a
step, a step that interrupts back to the user), MarkovTaskSet with @transition (stacked,
weighted) and @transitions (a dict and a list with tuples), tasks as a list on the User,
constant_pacing, and form and JSON bodies posted in the sequence.

Rows: GET /api/cart, POST /api/cart/address (twice per checkout), POST /form ("pay"),
GET / (home), GET /api/items/2, GET /api/items/2/reviews.
"""

from locust import (
    HttpUser,
    MarkovTaskSet,
    SequentialTaskSet,
    constant_pacing,
    task,
    transition,
    transitions,
)


class Checkout(SequentialTaskSet):
    @task
    def open_cart(self):
        self.client.get("/api/cart")

    @task(2)
    def give_address(self):
        self.client.post("/api/cart/address", json={"street": "Main St 1", "city": "Lund"})

    @task
    def pay(self):
        with self.client.post(
            "/form",
            data={"card": "4111111111111111", "cvc": "123"},
            name="pay",
            catch_response=True,
        ) as resp:
            if resp.json().get("card") != ["4111111111111111"]:
                resp.failure("the payment form was not received")

    @task
    def finished(self):
        self.interrupt()


class Wander(MarkovTaskSet):
    @transition("product", weight=3)
    @transition("home")
    def home(self):
        self.client.get("/")

    @transitions({"home": 1, "product": 1, "reviews": 2})
    def product(self):
        self.client.get("/api/items/2")

    @transitions(["product", ("leave", 2)])
    def reviews(self):
        self.client.get("/api/items/2/reviews")

    @transitions(["home"])
    def leave(self):
        self.interrupt(reschedule=False)


class Buyer(HttpUser):
    tasks = [Checkout, Wander]
    wait_time = constant_pacing(0.004)
