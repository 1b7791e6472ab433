"""Shared contract every recommender must pass (implicit / RecTools style).

Usage::

    from tests.ml.contract import RecommenderContract

    class TestEASE(RecommenderContract):
        def make_model(self):
            return EASE(l2=50.0)

Class attributes a subclass may override:

``synthetic_kwargs``   arguments of :func:`ml.synthetic.planted_interactions`
``interactions_kwargs`` arguments of ``SyntheticData.to_interactions``
``split_method``       ``"random"`` | ``"leave_last_out"`` | ``"per_user_temporal"``
``beats_popularity``   check NDCG@10 vs global popularity (False for non-personal models)
``popularity_margin``  required ratio model/pop NDCG@10 (and ``popularity_min_gain`` absolute)
``deterministic``      refit with the same seed must give the same rankings, and relabelling every
                       user and item id of the data set must give the same metrics and lists
``supports_fold_in``   ``recommend_for_items`` works
``fold_in_overlap``    min mean top-k overlap between folding in a known user's
                       training items and that user's own recommendations (None: skip)
``id_namings``         relabellings checked by the id-naming test (``"reversed ints"``, ``"hashed strings"``)
``score_rtol``         tolerance for comparing scores (batch vs single, save/load, refit)

Fixtures (class scoped, built once per test class): ``data``, ``split`` (train,
test), ``fitted`` (``make_model().fit(train)``).  Override them for special
data (e.g. longer sequences).  No Django, no database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.base

from ml.artifacts import ArtifactError
from ml.dataset import Interactions
from ml.models.base import NotFittedError, Recommender
from ml.split import leave_last_out, per_user_temporal_split, random_split
from ml.synthetic import planted_interactions

__all__ = ["RecommenderContract", "ndcg_at_k", "recall_at_k", "assert_same_rankings"]


# ------------------------------------------------------------------ local metrics
def _relevance(rec_idx: np.ndarray, users: np.ndarray, test: sp.csr_matrix) -> np.ndarray:
    rel = np.zeros(rec_idx.shape, dtype=np.float64)
    for r, u in enumerate(users):
        truth = test.indices[test.indptr[u] : test.indptr[u + 1]]
        rel[r] = np.isin(rec_idx[r], truth) & (rec_idx[r] >= 0)
    return rel


def ndcg_at_k(rec_idx: np.ndarray, users: np.ndarray, test: sp.csr_matrix) -> float:
    """Mean binary NDCG@k over ``users`` (rows of ``rec_idx``)."""
    k = rec_idx.shape[1]
    rel = _relevance(rec_idx, users, test)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = rel @ discounts
    n_true = np.minimum(np.diff(test.indptr)[users], k)
    idcg = np.array([discounts[:n].sum() for n in n_true])
    return float(np.mean(dcg / np.maximum(idcg, 1e-12)))


def recall_at_k(rec_idx: np.ndarray, users: np.ndarray, test: sp.csr_matrix) -> float:
    rel = _relevance(rec_idx, users, test)
    n_true = np.diff(test.indptr)[users]
    return float(np.mean(rel.sum(axis=1) / np.maximum(np.minimum(n_true, rec_idx.shape[1]), 1)))


def assert_same_rankings(ids_a, scores_a, ids_b, scores_b, *, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Scores close everywhere; ids equal wherever the score is not tied with a neighbour."""
    scores_a = np.asarray(scores_a, dtype=np.float64)
    scores_b = np.asarray(scores_b, dtype=np.float64)
    assert np.asarray(ids_a).shape == np.asarray(ids_b).shape
    np.testing.assert_allclose(scores_a, scores_b, rtol=rtol, atol=atol)
    finite = np.where(np.isfinite(scores_a), scores_a, -1e30)
    tol = atol + rtol * np.abs(finite)
    close = np.abs(np.diff(finite, axis=1)) <= np.maximum(tol[:, 1:], tol[:, :-1])
    tied = np.zeros(finite.shape, dtype=bool)
    tied[:, 1:] |= close
    tied[:, :-1] |= close
    a, b = np.asarray(ids_a), np.asarray(ids_b)
    mismatch = (a != b) & ~tied
    assert not mismatch.any(), f"rankings differ at {np.argwhere(mismatch)[:5].tolist()}"


# ---------------------------------------------------------------------- contract
class RecommenderContract:
    """Mixin: subclass it as ``Test<Model>`` and implement :meth:`make_model`."""

    synthetic_kwargs: ClassVar[dict[str, Any]] = dict(
        n_users=300,
        n_items=120,
        n_clusters=6,
        interactions_per_user=20,
        popularity_exponent=1.0,
        noise=0.1,
        seed=7,
    )
    interactions_kwargs: ClassVar[dict[str, Any]] = {}
    split_method: ClassVar[str] = "random"
    beats_popularity: ClassVar[bool] = True
    popularity_margin: ClassVar[float] = 1.15
    popularity_min_gain: ClassVar[float] = 0.02
    deterministic: ClassVar[bool] = True
    supports_fold_in: ClassVar[bool] = True
    fold_in_overlap: ClassVar[float | None] = 0.3
    score_rtol: ClassVar[float] = 1e-4
    id_namings: ClassVar[tuple[str, ...]] = ("reversed ints", "hashed strings")
    k: ClassVar[int] = 10

    def make_model(self) -> Recommender:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- fixtures --------------------------------------------------------------------
    @pytest.fixture(scope="class")
    @classmethod
    def data(cls) -> Interactions:
        return planted_interactions(**cls.synthetic_kwargs).to_interactions(**cls.interactions_kwargs)

    @pytest.fixture(scope="class")
    @classmethod
    def split(cls, data: Interactions) -> tuple[Interactions, Interactions]:
        return cls.split_data(data)

    @classmethod
    def split_data(cls, data: Interactions) -> tuple[Interactions, Interactions]:
        if cls.split_method == "random":
            return random_split(data, test_size=0.2, seed=0)
        if cls.split_method == "leave_last_out":
            return leave_last_out(data, n=1)
        if cls.split_method == "per_user_temporal":
            return per_user_temporal_split(data, test_size=0.2)
        raise ValueError(cls.split_method)

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, split) -> Recommender:
        train, _ = split
        model = cls().make_model()
        assert model.fit(train) is model, "fit must return self"
        return model

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def _users_with_history(train: Interactions, n: int = 8) -> np.ndarray:
        users = np.flatnonzero(train.user_counts() > 0)
        return users[:: max(1, len(users) // n)][:n]

    # -- checks -------------------------------------------------------------------------
    def test_unfitted_model_raises(self):
        model = self.make_model()
        with pytest.raises(NotFittedError):
            model.recommend([1], 5)

    def test_params_roundtrip(self):
        model = self.make_model()
        params = model.get_params()
        clone = type(model)(**params)
        assert clone.get_params() == params
        cloned = sklearn.base.clone(model)  # scikit-learn's estimator rules: __init__ only stores its arguments
        assert type(cloned) is type(model) and cloned is not model and cloned.get_params() == params
        for key in params:
            assert not key.endswith("_"), "hyperparameters must not end with '_'"
        if model.name:
            from ml.models.registry import model_from_config, model_to_config

            rebuilt = model_from_config(model_to_config(model))
            assert type(rebuilt) is type(model) and rebuilt.get_params() == params
            with pytest.raises(ValueError):
                model_from_config({"name": model.name, "no_such_parameter": 1})

    def test_output_shapes_and_dtypes(self, fitted, split):
        train, _ = split
        users = train.user_map.external_ids[self._users_with_history(train, 5)]
        ids, scores = fitted.recommend(users, self.k)
        assert ids.shape == (len(users), self.k) and scores.shape == (len(users), self.k)
        assert ids.dtype == train.item_map.external_ids.dtype
        assert scores.dtype == np.float32
        assert np.all(np.diff(scores, axis=1) <= 1e-6), "scores must be sorted descending"
        for row in ids:
            valid = row[row != -1]
            assert len(np.unique(valid)) == len(valid), "duplicate items in a ranking"
            assert np.isin(valid, train.item_map.external_ids).all()
        idx, sc = fitted.recommend_indices(train.user_map.to_index(users), self.k)
        assert idx.dtype == np.int64 and sc.dtype == np.float32
        np.testing.assert_array_equal(train.item_map.to_external(idx), ids)

    def test_exclude_seen(self, fitted, split):
        train, _ = split
        users = self._users_with_history(train)
        idx, _ = fitted.recommend_indices(users, self.k, exclude_seen=True)
        for row, u in zip(idx, users, strict=False):
            seen = train.matrix.indices[train.matrix.indptr[u] : train.matrix.indptr[u + 1]]
            assert not np.isin(row[row >= 0], seen).any()
        idx_all, _ = fitted.recommend_indices(users, self.k, exclude_seen=False)
        assert idx_all.shape == (len(users), self.k)

    def test_padding_when_k_exceeds_candidates(self, fitted, split):
        train, _ = split
        u = self._users_with_history(train, 1)
        k = train.n_items + 3
        idx, sc = fitted.recommend_indices(u, k)
        n_seen = train.user_counts()[u[0]]
        assert (idx[0, -3:] == -1).all() and np.isneginf(sc[0, -3:]).all()
        assert (idx[0] >= 0).sum() <= train.n_items - n_seen
        assert np.isneginf(sc[0, idx[0] < 0]).all()

    def test_allowed_items(self, fitted, split):
        train, _ = split
        rng = np.random.default_rng(0)
        allowed = rng.choice(train.item_map.external_ids, size=15, replace=False)
        users = train.user_map.external_ids[self._users_with_history(train, 4)]
        ids, scores = fitted.recommend(users, self.k, allowed_items=allowed)
        for row in ids:
            assert np.isin(row[row != -1], allowed).all()
        few = allowed[:3]
        ids, scores = fitted.recommend(users, self.k, allowed_items=few, exclude_seen=False)
        assert (ids[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()
        assert all(set(row[:3]) == set(few) for row in ids)

    def test_unknown_user_raises(self, fitted):
        with pytest.raises(KeyError, match="unknown"):
            fitted.recommend([-123456789], self.k)

    def test_batch_equals_single(self, fitted, split):
        train, _ = split
        users = self._users_with_history(train, 6)
        b_idx, b_sc = fitted.recommend_indices(users, self.k)
        for r, u in enumerate(users):
            s_idx, s_sc = fitted.recommend_indices([u], self.k)
            assert_same_rankings(b_idx[r : r + 1], b_sc[r : r + 1], s_idx, s_sc, rtol=self.score_rtol)

    def test_similar_items_excludes_self(self, fitted, split):
        train, _ = split
        items = train.item_map.external_ids[np.flatnonzero(train.item_counts() > 0)[:6]]
        ids, scores = fitted.similar_items(items, 5)
        assert ids.shape == (len(items), 5) and scores.dtype == np.float32
        for item, row in zip(items, ids, strict=False):
            assert item not in row
        with pytest.raises(KeyError):
            fitted.similar_items([-987654321], 5)

    def test_recommend_for_items_folds_in_new_users(self, fitted, split):
        if not self.supports_fold_in:
            pytest.skip("model has no fold-in")
        train, _ = split
        users = self._users_with_history(train, 6)
        lists = [train.item_map.to_external(train.matrix[u].indices).tolist() for u in users]
        weights = [train.matrix[u].data.tolist() for u in users]
        ids, scores = fitted.recommend_for_items(lists + [[], [-42]], self.k, weights=weights + [[], [1.0]])
        assert ids.shape == (len(lists) + 2, self.k) and scores.dtype == np.float32
        for row, items in zip(ids, lists, strict=False):
            assert not np.isin(row[row != -1], items).any()
        assert (ids[-2:] != -1).any(), "empty history must still get (popular) items"
        if self.fold_in_overlap is not None:
            own, _ = fitted.recommend(train.user_map.external_ids[users], self.k)
            overlap = np.mean([len(set(a) & set(b)) / self.k for a, b in zip(own, ids[: len(users)], strict=False)])
            assert overlap >= self.fold_in_overlap, f"fold-in overlap {overlap:.2f} with known-user recommendations"

    def test_save_load_roundtrip(self, fitted, split, tmp_path: Path):
        train, _ = split
        path = fitted.save(tmp_path / "model")
        loaded = Recommender.load(path)
        assert type(loaded) is type(fitted)
        assert loaded.get_params() == fitted.get_params()
        users = train.user_map.external_ids[self._users_with_history(train)]
        a = fitted.recommend(users, self.k)
        b = loaded.recommend(users, self.k)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        items = train.item_map.external_ids[:4]
        np.testing.assert_array_equal(fitted.similar_items(items, 5)[0], loaded.similar_items(items, 5)[0])
        if self.supports_fold_in:
            lists = [items[:2].tolist()]
            np.testing.assert_array_equal(fitted.recommend_for_items(lists, 5)[0], loaded.recommend_for_items(lists, 5)[0])
        assert type(fitted).load(path) is not None

    def test_tampered_artifact_refused(self, fitted, tmp_path: Path):
        path = fitted.save(tmp_path / "model")
        arrays = path / "arrays.npz"
        raw = bytearray(arrays.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        arrays.write_bytes(bytes(raw))
        with pytest.raises(ArtifactError, match="checksum"):
            Recommender.load(path)
        path2 = fitted.save(tmp_path / "model2")
        cfg = path2 / "config.json"
        cfg.write_bytes(cfg.read_bytes()[:-20])  # truncated
        with pytest.raises(ArtifactError):
            Recommender.load(path2)
        path3 = fitted.save(tmp_path / "model3")
        (path3 / "SHA256SUMS").unlink()
        with pytest.raises(ArtifactError):
            Recommender.load(path3)
        path4 = fitted.save(tmp_path / "model4")
        (path4 / "planted.bin").write_bytes(b"\x00")  # every file of the artifact is covered, not only the listed
        with pytest.raises(ArtifactError, match="not covered"):
            Recommender.load(path4)

    def test_refit_from_scratch_is_reproducible(self, fitted, split):
        if not self.deterministic:
            pytest.skip("model is not deterministic")
        train, _ = split
        users = self._users_with_history(train)
        a = fitted.recommend_indices(users, self.k)
        other = self.make_model().fit(train)
        b = other.recommend_indices(users, self.k)
        assert_same_rankings(a[0], a[1], b[0], b[1], rtol=self.score_rtol)
        # refitting the same object starts from scratch too
        again = self.make_model().fit(train).fit(train)
        c = again.recommend_indices(users, self.k)
        assert_same_rankings(a[0], a[1], c[0], c[1], rtol=self.score_rtol)

    def test_results_do_not_depend_on_how_ids_are_named(self, fitted, split):
        """Same events under other names (reversed ints, hashed strings): same metrics, same lists."""
        if not self.deterministic:
            pytest.skip("model is not deterministic")
        from dataclasses import replace

        from ml.evaluation import evaluate_model

        synth = planted_interactions(**self.synthetic_kwargs)
        top = int(max(synth.user_catalog_ids.max(), synth.catalog_item_ids.max())) + 1
        namings = {
            "reversed ints": (lambda u: top - u, lambda i: top - i),
            "hashed strings": (
                lambda u: np.char.add("user-", ((u * 2654435761) % 2**32).astype(str)),
                lambda i: np.char.add("sku-", ((i * 40503) % 2**31).astype(str)),
            ),
        }
        train, test = split
        expected = evaluate_model(fitted, train, test, k=self.k, fit=False, item_embeddings=None)["metrics"]
        users = self._users_with_history(train)
        lists = fitted.recommend_indices(users, self.k)[0]
        for name in self.id_namings:
            user_name, item_name = namings[name]
            renamed = replace(
                synth,
                user_ids=user_name(synth.user_ids), item_ids=item_name(synth.item_ids),
                user_catalog_ids=user_name(synth.user_catalog_ids), catalog_item_ids=item_name(synth.catalog_item_ids),
            )  # fmt: skip
            other_train, other_test = self.split_data(renamed.to_interactions(**self.interactions_kwargs))
            other = self.make_model().fit(other_train)
            got = evaluate_model(other, other_train, other_test, k=self.k, fit=False, item_embeddings=None)["metrics"]
            assert got == expected, f"{name}: {got} != {expected}"
            other_lists = other.recommend(other_train.user_map.external_ids[users], self.k)[0]
            original_names = item_name(train.item_map.to_external(lists))
            assert np.array_equal(np.where(lists >= 0, original_names, other.item_map_.sentinel), other_lists), name

    def test_beats_popularity(self, fitted, split):
        if not self.beats_popularity:
            pytest.skip("non-personalized model")
        from ml.models.popularity import PopularityRecommender

        train, test = split
        users = np.flatnonzero((test.user_counts() > 0) & (train.user_counts() > 0))
        pop = PopularityRecommender().fit(train)
        pop_ndcg = ndcg_at_k(pop.recommend_indices(users, 10)[0], users, test.matrix)
        model_ndcg = ndcg_at_k(fitted.recommend_indices(users, 10)[0], users, test.matrix)
        assert model_ndcg >= self.popularity_margin * pop_ndcg and model_ndcg >= pop_ndcg + self.popularity_min_gain, (
            f"NDCG@10 {model_ndcg:.4f} vs popularity {pop_ndcg:.4f}"
        )
