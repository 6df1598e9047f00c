"""gradtheory: derive, execute, predict and verify vanishing and exploding gradients."""

__version__ = "0.1.0"
