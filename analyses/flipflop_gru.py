"""A GRU learns the 3-bit flip-flop of Sussillo & Barak (2013) to over 95% bit accuracy.

Run: python analyses/flipflop_gru.py [--quick]  (writes figures/flipflop_gru.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("flipflop_gru", sys.argv[1:]))
