"""Keras's Adam update written out, for the trainers that run their own compiled step.

The fused single-stream trainer (``anomaly.model.fused``) and the stacked fleet trainer
(``anomaly.model.fleet``) update plain tensors instead of Keras variables, so that one traced step
serves every stream of an architecture; both use this one copy of the rule, with Keras's defaults.
"""

from __future__ import annotations

from typing import Any

ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.999
ADAM_EPSILON = 1e-7  # Keras's default


def adam_rate(learning_rate: float, steps: Any) -> Any:
    """The bias-corrected step size after ``steps`` updates (a tensor, >= 1 each)."""
    import tensorflow as tf

    return learning_rate * tf.sqrt(1 - ADAM_BETA_2**steps) / (1 - ADAM_BETA_1**steps)


def adam_update(
    weight: Any, gradient: Any, first: Any, second: Any, rate: Any, keep: Any = None
) -> tuple[Any, Any, Any]:
    """One Adam step of ``weight``: the new weight and first and second moments.

    ``rate`` is ``adam_rate`` broadcastable to the weight; where ``keep`` (broadcastable, 0 or 1) is
    0, the weight and its moments stay as they were (a stream of a fleet with nothing to learn).
    """
    import tensorflow as tf

    new_first = ADAM_BETA_1 * first + (1 - ADAM_BETA_1) * gradient
    new_second = ADAM_BETA_2 * second + (1 - ADAM_BETA_2) * tf.square(gradient)
    step = rate * new_first / (tf.sqrt(new_second) + ADAM_EPSILON)
    if keep is None:
        return weight - step, new_first, new_second
    return (
        weight - keep * step,
        keep * new_first + (1 - keep) * first,
        keep * new_second + (1 - keep) * second,
    )
