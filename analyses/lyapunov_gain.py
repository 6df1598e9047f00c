"""Largest Lyapunov exponent of random tanh RNNs vs gain g (chaos at g = 1) and BPTT growth.

Run: python analyses/lyapunov_gain.py [--quick]  (writes figures/lyapunov_gain.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("lyapunov_gain", sys.argv[1:]))
