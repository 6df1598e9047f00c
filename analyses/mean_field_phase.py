"""Mean-field phase diagram of deep tanh networks; per-layer gradient growth 1/2 ln chi_1 vs BPTT.

Run: python analyses/mean_field_phase.py [--quick]  (writes figures/mean_field_phase.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("mean_field_phase", sys.argv[1:]))
