"""Chain rule over n steps: per-step factors w phi'(a) per activation and |dh_n/dh_0| vs n.

Run: python analyses/chain_rule.py [--quick]  (writes figures/chain_rule.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("chain_rule", sys.argv[1:]))
