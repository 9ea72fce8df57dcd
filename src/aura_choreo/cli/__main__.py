"""`python -m aura_choreo.cli`."""

from aura_choreo.cli.main import main

main()
