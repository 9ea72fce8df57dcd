"""`python -m aura_choreo`."""

from aura_choreo.cli.main import main

main()
