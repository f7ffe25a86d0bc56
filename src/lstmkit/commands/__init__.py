"""Subcommands of the ``lstmkit`` command line, one module each.

Each module defines ``HELP`` (one line), ``EXAMPLE`` (a command that works), ``add_arguments(parser)``
and ``run(args) -> int``. :mod:`lstmkit.cli` lists them in ``COMMANDS``.
"""
