"""The `digitlens` command line: one subcommand per step of the lesson (see main.py)."""
