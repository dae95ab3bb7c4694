"""``python -m reverb``: the ``reverb`` command."""

from .cli import main

main()
