"""Cliff in the loss along the hidden bias of a one-unit tanh RNN; plain vs clipped descent.

Run: python analyses/loss_cliff.py [--quick]  (writes figures/loss_cliff.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("loss_cliff", sys.argv[1:]))
