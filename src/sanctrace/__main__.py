"""``python -m sanctrace``: the command line."""

from sanctrace.cli import main

main()
