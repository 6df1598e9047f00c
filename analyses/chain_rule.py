"""Linear scalar RNN: the gradient through T steps is w^T (117.4 at w = 1.1, 0.00515 at w = 0.9).

Run: python analyses/chain_rule.py [--quick]  (writes figures/linear_power.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("chain_rule", sys.argv[1:]))
