"""Reversing the source sequence shortens the minimal time lag of a copy task.

Run: python analyses/reverse_input.py [--quick]  (writes figures/reverse_input.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("reverse_input", sys.argv[1:]))
