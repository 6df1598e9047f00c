"""Truncated BPTT with window k cannot learn a latch dependency spanning more than k steps.

Run: python analyses/tbptt_window.py [--quick]  (writes figures/tbptt_window.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("tbptt_window", sys.argv[1:]))
