"""The five services. None imports another; they learn about each other from events."""
