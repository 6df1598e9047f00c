"""Batch normalisation: units out of saturation, exploding gradients in plain deep nets.

Run: python analyses/batchnorm.py [--quick]
(writes figures/batchnorm.png, .svg and .json)
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("batchnorm", sys.argv[1:]))
