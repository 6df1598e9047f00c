"""LSTM with forget gate near 1: predicted and measured gradient growth rates both near zero.

Run: python analyses/lstm_forget_gate.py [--quick]
(writes figures/lstm_forget_gate.png, .svg and .json)
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("lstm_forget_gate", sys.argv[1:]))
