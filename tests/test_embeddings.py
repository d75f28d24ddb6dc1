import json

import numpy as np
import pytest

from anomaly.embeddings import EmbeddingSpace


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0] * 6, [5.0] * 6, [-5.0, 5.0, -5.0, 5.0, -5.0, 5.0]])
    return np.concatenate([c + rng.normal(0, 0.3, size=(100, 6)) for c in centers])


def test_finds_the_clusters_and_assigns_consistently():
    points = _blobs()
    space = EmbeddingSpace.fit(points, max_clusters=6, seed=0)
    assert len(space.centers) == 3
    labels = space.assign(points)
    for block in range(3):
        assert len(set(labels[block * 100 : (block + 1) * 100])) == 1


def test_projection_is_two_dimensional_and_survives_json():
    points = _blobs()
    space = EmbeddingSpace.fit(points, max_clusters=4, seed=0)
    restored = EmbeddingSpace.from_dict(json.loads(json.dumps(space.to_dict())))
    np.testing.assert_allclose(restored.project(points), space.project(points))
    assert space.project(points).shape == (300, 2)
    np.testing.assert_array_equal(restored.assign(points), space.assign(points))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_degenerate_embeddings_give_one_cluster():
    points = np.zeros((50, 4))
    space = EmbeddingSpace.fit(points, max_clusters=4, seed=0)
    assert set(space.assign(points)) == {0}
    assert space.project(points).shape == (50, 2)
    assert np.isfinite(space.project(points)).all()
