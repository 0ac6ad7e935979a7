"""The subcommands of the ``digitnet`` command, one module each; each has ``add_parser``, which
registers it, and a function its parser runs."""

__all__ = ["evaluate", "plot", "predict", "serve", "train"]
