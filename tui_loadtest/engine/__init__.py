"""The load engine: worker processes running virtual users, and the coordinator that merges them."""
