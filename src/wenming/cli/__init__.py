"""The `wenming` command line: one Typer module per domain, composed in `cli.main`."""
