"""`python -m demo` is `swarmgate demo`."""

from swarmgate.cli import main

main(["demo", *__import__("sys").argv[1:]])
