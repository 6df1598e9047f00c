"""Predicted and measured gradient regime at checkpoints during training.

Run: python analyses/regime_during_training.py [--quick]
(writes figures/regime_during_training.png, .svg and .json)
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("regime_during_training", sys.argv[1:]))
