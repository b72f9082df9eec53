"""`python -m core.cli`, as the tests and benchmarks start Earful: the same as the `earful` command."""

from core.cli import main

main()
