"""Logistic map 3.5 x (1 - x): cobweb (4-cycle), bifurcation diagram, Lyapunov exponents.

Run: python analyses/logistic_map.py [--quick]  (writes figures/logistic_map.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("logistic_map", sys.argv[1:]))
