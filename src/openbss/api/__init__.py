"""HTTP API: the FastAPI app factory, TM Forum common shapes, authentication and error mapping."""
