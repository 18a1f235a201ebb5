"""The ``flexcoord`` command line: thin Typer commands over the same functions the service uses."""
