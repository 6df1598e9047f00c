"""GRU update gate: with z -> 1 the state is copied and the gradient passes through unchanged.

Run: python analyses/gru_gates.py [--quick]
(writes figures/gru_gates.png, .svg and .json)
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("gru_gates", sys.argv[1:]))
