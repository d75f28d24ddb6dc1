"""Grouping and drawing encoder embeddings: clusters and a 2-D projection learnt at training time.

The projection (PCA) and the cluster centres (k-means, k chosen by silhouette) are fitted once on
the training windows' embeddings and stored with the model as plain numbers, so every later run
places new windows in the same picture and the same clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SILHOUETTE_SAMPLE = 2000


@dataclass(frozen=True)
class EmbeddingSpace:
    """A fitted 2-D projection and set of cluster centres for one model's embeddings."""

    mean: np.ndarray
    components: np.ndarray
    centers: np.ndarray

    @classmethod
    def fit(cls, embeddings: np.ndarray, *, max_clusters: int, seed: int) -> EmbeddingSpace:
        """Fit on ``embeddings`` (n_windows, dim); k in 2..max_clusters with the best silhouette.

        scikit-learn is imported here, not with the module: a scheduled run that only places new
        windows in a stored space would otherwise pay its 1.4 s import (half a 20-stream run's time).
        """
        from sklearn.decomposition import PCA
        from threadpoolctl import threadpool_limits

        n_components = min(2, embeddings.shape[0], embeddings.shape[1])
        pca = PCA(n_components=n_components, random_state=seed).fit(embeddings)
        components = np.zeros((2, embeddings.shape[1]))
        components[:n_components] = pca.components_
        # At most 2,000 embeddings of a few dozen dimensions: one thread fits each k in milliseconds,
        # while OpenMP's threads wait for each other at every k-means iteration whenever the machine
        # is busy (7 fits and silhouettes took 2.1 s a stream on 2 shared cores, 0.1 s on one thread).
        with threadpool_limits(limits=1):
            centers = _best_kmeans_centers(embeddings, max_clusters=max_clusters, seed=seed)
        return cls(mean=pca.mean_, components=components, centers=centers)

    def project(self, embeddings: np.ndarray) -> np.ndarray:
        """2-D coordinates (n_windows, 2) for drawing."""
        return (embeddings - self.mean) @ self.components.T

    def assign(self, embeddings: np.ndarray) -> np.ndarray:
        """Index of the nearest cluster centre for each embedding."""
        distances = ((embeddings[:, None, :] - self.centers[None, :, :]) ** 2).sum(axis=2)
        return distances.argmin(axis=1)

    def to_dict(self) -> dict[str, list]:
        """Plain JSON-able form, for the model record."""
        return {
            "mean": self.mean.tolist(),
            "components": self.components.tolist(),
            "centers": self.centers.tolist(),
        }

    @classmethod
    def from_dict(cls, record: dict[str, list]) -> EmbeddingSpace:
        """Rebuild from ``to_dict`` output."""
        return cls(
            mean=np.asarray(record["mean"], dtype=float),
            components=np.asarray(record["components"], dtype=float),
            centers=np.asarray(record["centers"], dtype=float),
        )


def _best_kmeans_centers(embeddings: np.ndarray, *, max_clusters: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(seed)
    sample = embeddings
    if len(embeddings) > SILHOUETTE_SAMPLE:
        sample = embeddings[np.sort(rng.choice(len(embeddings), SILHOUETTE_SAMPLE, replace=False))]
    distinct = len(np.unique(sample.round(6), axis=0))
    if distinct < 3:
        return sample[:1].astype(float)
    best_score, best_centers = -np.inf, None
    for k in range(2, min(max_clusters, distinct - 1) + 1):
        kmeans = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(sample)
        score = silhouette_score(sample, kmeans.labels_)
        if score > best_score:
            best_score, best_centers = score, kmeans.cluster_centers_
    return np.asarray(best_centers, dtype=float)
