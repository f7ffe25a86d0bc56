"""Subcommands of the ``lstmkit`` command line, one module each.

Each module defines ``HELP`` (one line), ``EXAMPLE`` (a command that works), ``add_arguments(parser)``
and ``run(args) -> int``; a training command also ``OWNERS`` and ``OPTIONS``, so that the library's
errors name its options (:func:`._options.name_options`). :mod:`lstmkit.cli` lists them in
``COMMANDS``, and the files each writes in ``OUTPUTS`` (checked before it runs).
"""
