"""``python -m ops.cli``: the same as the ``hub`` command."""

from ops.cli.main import run

run()
