"""LSTM constant error carousel: dc_T/dc_0 = 1 when f = 1 and i = 0, prod f_t otherwise.

Run: python analyses/lstm_carousel.py [--quick]
(writes figures/lstm_carousel.png, .svg and .json)
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("lstm_carousel", sys.argv[1:]))
