"""The frozen app's entry script: the same `main` that the `bridgewatch` command runs."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
