"""The hub's HTTP API (``hub serve``): FastAPI routes over the use cases of ``ops.usecases``."""
