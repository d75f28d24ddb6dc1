"""A network's weights by layer, from the Keras weights file or from a ``get_weights()`` list, without
TensorFlow.

Artifacts keep Keras's ``.weights.h5`` as the one weights format. Keras names the layers inside it by
class and position (``layers/lstm``, ``layers/lstm_1``, ... ``layers/time_distributed`` ...), in the
order of the model's layers, which is also the order of ``get_weights()``. That order is fixed when
the network is built (``anomaly.model.network.weighted_layers``) and recorded with the artifact as its
``weights_layout``, so that a run that only scores can read the file with h5py and never import
TensorFlow, which costs a scheduled run more than its scoring.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from anomaly.errors import ModelError
from anomaly.model.inference import LayerWeights

ARRAYS_PER_LAYER = {"lstm": 3, "time_distributed": 2}
"""How many arrays each kind of weighted layer holds: an LSTM its kernel, recurrent kernel and bias; a
time-distributed Dense its kernel and bias."""


def layout_kind(layer_name: str) -> str:
    """The Keras class (as the weights file names it) of one of our networks' weighted layers."""
    return "time_distributed" if layer_name.endswith("output") else "lstm"


def layer_weights(layout: list[str], weights: list[np.ndarray]) -> LayerWeights:
    """``weights`` in ``get_weights()`` order split by the layers of ``layout`` (in that order)."""
    layers: LayerWeights = {}
    position = 0
    for name in layout:
        size = ARRAYS_PER_LAYER[layout_kind(name)]
        layers[name] = [np.asarray(array, dtype=np.float32) for array in weights[position : position + size]]
        position += size
    if position != len(weights):
        raise ModelError(f"the weights hold {len(weights)} arrays, but the layout {layout} needs {position}")
    return layers


def read_layer_weights(path: Path, layout: list[str]) -> LayerWeights:
    """The weights of the layers in ``layout`` from the Keras weights file at ``path``."""
    counts: dict[str, int] = {}
    layers: LayerWeights = {}
    try:
        with h5py.File(path, "r") as file:
            for name in layout:
                kind = layout_kind(name)
                place = counts.get(kind, 0)
                counts[kind] = place + 1
                group = file["layers"][kind if place == 0 else f"{kind}_{place}"]
                variables = group["cell" if kind == "lstm" else "layer"]["vars"]
                arrays = range(ARRAYS_PER_LAYER[kind])
                layers[name] = [np.asarray(variables[str(index)], dtype=np.float32) for index in arrays]
    except (OSError, KeyError) as exc:
        raise ModelError(f"model weights {path} cannot be read: {exc}") from None
    return layers
