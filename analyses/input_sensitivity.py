"""Sensitivity of the state to the first input over time for tanh RNN, LSTM, GRU and IRNN.

Run: python analyses/input_sensitivity.py [--quick]
(writes figures/input_sensitivity.png, .svg and .json)
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("input_sensitivity", sys.argv[1:]))
