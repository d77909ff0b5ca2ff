"""The pipeline: one module per DVC stage, each a Typer command on the shared `fairmot` app."""
