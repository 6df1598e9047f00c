"""8x8 digits read one pixel per step (T = 64) by GRU, LSTM and IRNN.

Run: python analyses/digits_sequential.py [--quick]
(writes figures/digits_sequential.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("digits_sequential", sys.argv[1:]))
