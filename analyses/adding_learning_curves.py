"""Adding problem: tanh RNN, IRNN, LSTM and GRU learning curves, with and without clipping.

Run: python analyses/adding_learning_curves.py [--quick]
(writes figures/adding_learning_curves.{png,svg,json})
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("adding_learning_curves", sys.argv[1:]))
