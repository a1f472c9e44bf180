"""``python -m feedtool``: the same as the ``feedtool`` command."""

from feedtool.cli import main

main()
