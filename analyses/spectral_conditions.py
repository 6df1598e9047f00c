"""Pascanu et al. 2013: sigma_max(W) < 1/gamma: vanishing; > 1/gamma: needed to explode.

Run: python analyses/spectral_conditions.py [--quick]
(writes figures/spectral_conditions.png, .svg and .json)
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("spectral_conditions", sys.argv[1:]))
