"""`python -m stages <command>`: the entry torchrun uses for multi-node training."""

from stages.app import main

main()
