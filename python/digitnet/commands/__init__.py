"""The subcommands of the ``digitnet`` command, one module each."""
