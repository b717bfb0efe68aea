"""Allow `python -m streams ...` as an alias of the rapidaid command."""

from streams.cli import main

main()
