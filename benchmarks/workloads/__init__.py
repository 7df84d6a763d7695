"""One module per benchmark workload; each exposes ``run(ctx) -> list[Figure]``."""
