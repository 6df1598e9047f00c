"""Eigenvalues of W and of the step Jacobian against the unit circle for each initialisation.

Run: python analyses/jacobian_eigenvalues.py [--quick]
(writes figures/jacobian_eigenvalues.png, .svg and .json)
"""

import sys

from gradtheory.claims._script import main

if __name__ == "__main__":
    sys.exit(main("jacobian_eigenvalues", sys.argv[1:]))
