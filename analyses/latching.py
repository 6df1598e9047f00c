"""Information latching over growing spans: tanh RNN versus LSTM (Bengio et al. 1994).

Run: python analyses/latching.py [--quick]  (writes figures/latching.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("latching", sys.argv[1:]))
