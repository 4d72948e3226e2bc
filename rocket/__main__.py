"""``python -m rocket``: the same as the ``rocket`` command."""

from rocket.cli.main import run

if __name__ == "__main__":
    run()
