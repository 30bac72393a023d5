"""oots-harness command line."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("oots-harness: not implemented yet", file=sys.stderr)
    return 1
