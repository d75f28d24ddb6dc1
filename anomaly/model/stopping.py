"""Early stopping on chronological validation windows, for one stream or many trained together."""

from __future__ import annotations

import numpy as np


class BranchEarlyStopping:
    """Keras's ``EarlyStopping(patience, restore_best_weights=True)`` for each branch on its own.

    A branch (one stream's model) improves when its validation loss drops below its best so far; it
    stops once ``patience`` epochs passed without improvement (never after the first epoch). Its best
    weights are kept, and a stopped branch is frozen, so that it ends exactly where its own Keras fit
    would have stopped. A single stream is one branch.
    """

    def __init__(self, n_branches: int, patience: int) -> None:
        self.patience = patience
        self.best = np.full(n_branches, np.inf)
        self.wait = np.zeros(n_branches, dtype=int)
        self.epochs = np.zeros(n_branches, dtype=int)
        self.active = np.ones(n_branches, dtype=bool)
        self.best_weights: list[np.ndarray] = []

    def update(
        self, epoch: int, branches: np.ndarray, val_losses: np.ndarray, weights: list[np.ndarray]
    ) -> None:
        """Record one epoch of the still active ``branches`` (n,): their ``val_losses`` (n,) and their
        stacked ``weights`` (n, ...) after it. The first epoch must give every branch."""
        if not self.best_weights:
            self.best_weights = [w.copy() for w in weights]
        self.epochs[branches] = epoch + 1
        self.wait[branches] += 1
        improved = val_losses < self.best[branches]
        self.best[branches[improved]] = val_losses[improved]
        self.wait[branches[improved]] = 0
        for best, current in zip(self.best_weights, weights, strict=True):
            best[branches[improved]] = current[improved]
        if epoch > 0:
            self.active[branches] &= self.wait[branches] < self.patience
