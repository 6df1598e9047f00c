"""Depth: plain deep networks change the gradient norm exponentially, residual ones keep it.

Run: python analyses/depth_gradients.py [--quick]
(writes figures/depth_gradients.png, .svg and .json)
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("depth_gradients", sys.argv[1:]))
