"""Clipping the gradient norm on the temporal-order and adding problems (Pascanu et al. 2013).

Run: python analyses/clipping_pathological.py [--quick]
(writes figures/clipping_pathological.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("clipping_pathological", sys.argv[1:]))
