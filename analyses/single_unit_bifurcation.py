"""Single-unit RNN tanh(w h + b): saddle-nodes, hysteresis, exploding dh_T/db.

Run: python analyses/single_unit_bifurcation.py [--quick]
(writes figures/single_unit_bifurcation.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("single_unit_bifurcation", sys.argv[1:]))
