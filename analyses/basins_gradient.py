"""Two-unit RNN basins of attraction with ||dh_T/dh_0||: small inside, large on boundaries.

Run: python analyses/basins_gradient.py [--quick]  (writes figures/basins_gradient.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("basins_gradient", sys.argv[1:]))
