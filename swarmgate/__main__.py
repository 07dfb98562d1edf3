"""`python -m swarmgate` is the `swarmgate` command."""

from swarmgate.cli import main

main()
