"""`python -m swarmgate.demo`: the demo target on its own (the same command as `swarmgate demo`)."""

from swarmgate.demo.cli import demo

demo.main(prog_name="swarmgate demo")
