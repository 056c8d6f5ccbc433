"""`python -m ibert_core` is the `ibert` command."""

from ibert_core.cli import main

main()
