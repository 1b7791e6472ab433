# Over 400 lines because the Recommender interface (ranking, fold-in, similar items, artifacts) is one class; FactorModel and topk/als_fold_in are its shared scoring path.
"""The one recommender interface every Vitrine model implements.

Conventions (implicit / RecTools / scikit-learn):

* Hyperparameters are keyword-only ``__init__`` arguments stored *as given*
  under the same attribute name; ``__init__`` holds no logic (scikit-learn's
  estimator rules: :class:`Recommender` is a ``sklearn.base.BaseEstimator``, so
  ``get_params`` / ``set_params`` / ``clone`` work).  Validation happens in
  ``_validate_params`` (called by ``fit`` and by the registry): scikit-learn's,
  against ``_parameter_constraints``, unless a model overrides it.
* Learned state lives in public attributes ending in ``_`` (``item_map_``,
  ``user_factors_``...).  ``fit`` deletes all of them first, so it always refits
  from scratch, and returns ``self``.
* Ids at the public API are *external* ids (database keys); the ``*_indices``
  methods are the internal fast path (indices of ``item_map_`` /
  ``user_map_``) used by evaluation.
* Every ranking method returns ``(ids, scores)`` arrays of shape ``(n, k)``;
  slots that cannot be filled hold the id sentinel (``-1`` / ``""``; index
  ``-1``) and score ``-inf``.  Scores are float32.

Subclass hooks (fill only what you need):

``_fit(dataset)``
    Learn state from an :class:`~ml.dataset.Interactions`.  The base ``fit``
    has already set ``user_map_``, ``item_map_``, ``user_items_`` (training CSR,
    used for ``exclude_seen`` and as the users' history) and
    ``item_popularity_`` (distinct users per item).
``_score_history(history, item_indices=None) -> np.ndarray``
    Dense float32 scores ``(n_rows, n_items)`` (or ``(n_rows, len(item_indices))``
    for a column subset) for arbitrary history rows (CSR, ``n_items`` columns).
    This is the fold-in path for users unseen at fit time.
``_score_users(user_indices, item_indices=None) -> np.ndarray``
    Same for known users; defaults to ``_score_history(user_items_[users])``.
    Must return a new array (the caller overwrites excluded entries).
``_similar_scores(item_indices, item_subset=None) -> np.ndarray``
    Item-to-item scores; default: cosine over the columns of ``user_items_``.
``item_embeddings()``
    Item vectors in the scoring space (for a Faiss index) or ``None``.
``_save_extra(directory) -> list[str]`` / ``_load_extra(directory)``
    Extra artifact files (e.g. a torch ``state_dict``), covered by the
    checksum manifest.  Attributes that cannot be packed as arrays/JSON must be
    listed in ``_state_exclude``.

Users with an empty history row (users kept in the map without training
interactions, or empty fold-in lists) get global popularity scores when
``cold_start_fallback`` is true (class attribute).

Scoring runs in user batches of at most ``score_batch_elements`` dense
floats, and top-k uses ``np.argpartition`` (exact ties broken by the lower item index, which for
maps built from events is the item seen first: results never depend on how ids are named).

Factor models subclass :class:`FactorModel`: they set ``user_factors_`` and
``item_factors_`` (float32) and inherit scoring, fold-in (confidence-weighted
least squares on the item factors, as in iALS), ``similar_items`` (cosine of
item factors) and ``item_embeddings``.
"""

from __future__ import annotations

import abc
import json
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from ml.artifacts import ArtifactError, pack_state, read_artifact, unpack_state, write_artifact
from ml.dataset import Interactions
from ml.utils.arrays import unit_rows

__all__ = ["Recommender", "FactorModel", "NotFittedError", "topk", "als_fold_in", "ArtifactError"]


class NotFittedError(RuntimeError, AttributeError):
    """The model is used before ``fit`` (or ``load``)."""


def _boundary_ties_by_index(neg: np.ndarray, part: np.ndarray, kk: int) -> np.ndarray:
    """``part`` (argpartition's ``kk`` columns per row of ``neg``) with the items tied at the k-th
    score replaced by the lowest-indexed ones; rows without such a tie are returned as they are."""
    kth = np.take_along_axis(neg, part, axis=1).max(axis=1)
    rows = np.flatnonzero(np.count_nonzero(neg <= kth[:, None], axis=1) > kk)  # ties straddle the cut
    if rows.size == 0:
        return part
    cut = kth[rows, None]
    sub = neg if rows.size == neg.shape[0] else neg[rows]
    sub_part = part[rows]
    better = np.take_along_axis(sub, sub_part, axis=1) < cut  # all of these are in part already
    m = np.int32(sub.shape[1])
    tie_col = np.where(sub == cut, np.arange(m, dtype=np.int32), m)  # tied: own index, else past the end
    lowest = np.sort(np.partition(tie_col, kk - 1, axis=1)[:, :kk], axis=1)
    need = kk - better.sum(axis=1)
    take = np.concatenate([better, np.arange(kk)[None, :] < need[:, None]], axis=1)
    part = part.copy()
    part[rows] = np.concatenate([sub_part, lowest], axis=1)[take].reshape(rows.size, kk)  # kk per row
    return part


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-``k`` of a dense matrix: ``(indices int64, values float32)``.

    Descending by score; exact ties go to the lower column index, at the cut too (of several items tied
    at the k-th score, the lowest-indexed are kept). Maps built from events number items in the order
    they are first seen (:func:`ml.dataset.ids.first_seen_codes`), so a tie goes to the item seen first
    and never depends on how ids are named. ``-inf`` / NaN entries are never returned (index ``-1``,
    score ``-inf``).
    """
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 2:
        raise ValueError("scores must be 2-d")
    n, m = scores.shape
    out_idx = np.full((n, k), -1, dtype=np.int64)
    out_val = np.full((n, k), -np.inf, dtype=np.float32)
    kk = min(k, m)
    if kk <= 0 or n == 0:
        return out_idx, out_val
    neg = -scores
    neg[np.isnan(neg)] = np.inf
    if kk < m:
        part = _boundary_ties_by_index(neg, np.argpartition(neg, kk - 1, axis=1)[:, :kk], kk)
    else:
        part = np.broadcast_to(np.arange(m), (n, m)).copy()
    negv = np.take_along_axis(neg, part, axis=1)
    order = np.lexsort((part, negv), axis=1)
    part = np.take_along_axis(part, order, axis=1)
    vals = -np.take_along_axis(negv, order, axis=1)
    bad = ~np.isfinite(vals) & ~(vals > 0)  # -inf or NaN (+inf is a valid top score)
    part[bad] = -1
    vals[bad] = -np.inf
    out_idx[:, :kk] = part
    out_val[:, :kk] = vals
    return out_idx, out_val


def _as_csr(x: Any, n_cols: int) -> sp.csr_matrix:
    m = sp.csr_matrix(x, dtype=np.float32)
    if m.shape[1] != n_cols:
        raise ValueError(f"history has {m.shape[1]} columns, the model knows {n_cols} items")
    return m


def als_fold_in(
    history: sp.csr_matrix,
    item_factors: np.ndarray,
    *,
    regularization: float,
    alpha: float = 1.0,
    gramian: np.ndarray | None = None,
    chunk: int = 512,
) -> np.ndarray:
    """Exact implicit-ALS user vectors for history rows (Hu, Koren, Volinsky 2008).

    Confidence ``c = 1 + alpha * r`` on observed items (``r`` = history value, used
    as is), preference 1; unobserved items have ``c = 1, p = 0``::

        x_u = (YᵀY + Σ_i (c_i - 1) y_i y_iᵀ + λI)⁻¹ Σ_i c_i y_i

    Rows without items get a zero vector.
    """
    history = sp.csr_matrix(history)
    Y = np.asarray(item_factors, dtype=np.float64)
    d = Y.shape[1]
    G = Y.T @ Y if gramian is None else np.asarray(gramian, dtype=np.float64)
    base = G + float(regularization) * np.eye(d)
    n = history.shape[0]
    out = np.zeros((n, d), dtype=np.float32)
    indptr, indices, data = history.indptr, history.indices, history.data.astype(np.float64)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        rows = [r for r in range(start, stop) if indptr[r + 1] > indptr[r]]
        if not rows:
            continue
        A = np.empty((len(rows), d, d))
        b = np.empty((len(rows), d))
        for j, r in enumerate(rows):
            sl = slice(indptr[r], indptr[r + 1])
            Yi = Y[indices[sl]]
            extra = alpha * data[sl]
            A[j] = base + (Yi * extra[:, None]).T @ Yi
            b[j] = Yi.T @ (1.0 + extra)
        out[rows] = np.linalg.solve(A, b[..., None])[..., 0]
    return out


class Recommender(BaseEstimator, abc.ABC):
    """Abstract base of all recommenders (see the module docstring).

    A scikit-learn ``BaseEstimator``: ``get_params`` / ``set_params`` / ``sklearn.base.clone``
    and ``repr`` come from scikit-learn and read the keyword parameters of ``__init__``.
    """

    #: registry name, set by :func:`ml.models.registry.register`
    name: ClassVar[str | None] = None
    #: max dense floats per scoring batch (``batch_users * n_items``)
    score_batch_elements: ClassVar[int] = 1 << 23
    #: users with empty history get popularity scores
    cold_start_fallback: ClassVar[bool] = True
    #: learned attributes not packed into ``arrays.npz`` (handled by ``_save_extra``)
    _state_exclude: ClassVar[tuple[str, ...]] = ()

    #: scikit-learn parameter constraints checked by ``_validate_params`` (scikit-learn's own
    #: method); models with checks a constraint cannot express override ``_validate_params``
    _parameter_constraints: ClassVar[dict] = {}

    # -------------------------------------------------------------------- fit
    def _learned_state(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in vars(self).items()
            if k.endswith("_") and not k.startswith("_") and k not in self._state_exclude
        }

    def _clear_state(self) -> None:
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, key)
        self._cache = {}

    def fit(self, dataset: Interactions) -> Recommender:
        """Learn from ``dataset`` from scratch; returns ``self``."""
        if not isinstance(dataset, Interactions):
            raise TypeError(f"fit expects ml.dataset.Interactions, got {type(dataset).__name__}")
        self._validate_params()
        self._clear_state()
        self.user_map_ = dataset.user_map
        self.item_map_ = dataset.item_map
        self.user_items_ = dataset.matrix
        self.item_popularity_ = dataset.item_counts().astype(np.float32)
        self._fit(dataset)
        return self

    @abc.abstractmethod
    def _fit(self, dataset: Interactions) -> None:
        """Learn model state (see module docstring)."""

    @property
    def is_fitted(self) -> bool:
        return "item_map_" in vars(self)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() or load() first")

    @property
    def n_users(self) -> int:
        self._check_fitted()
        return len(self.user_map_)

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.item_map_)

    # ------------------------------------------------------------------ hooks
    def _score_users(self, user_indices: np.ndarray, item_indices: np.ndarray | None = None) -> np.ndarray:
        return self._score_history(self.user_items_[user_indices], item_indices)

    def _score_history(self, history: sp.csr_matrix, item_indices: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} cannot score new users (no fold-in)")

    def _similar_scores(self, item_indices: np.ndarray, item_subset: np.ndarray | None = None) -> np.ndarray:
        cols = self._cache.get("item_cosine")
        if cols is None:
            X = sp.csc_matrix(self.user_items_, dtype=np.float32)
            norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
            inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
            cols = sp.csr_matrix((X @ sp.diags(inv.astype(np.float32))).T)  # items x users, unit rows
            self._cache["item_cosine"] = cols
        right = cols if item_subset is None else cols[item_subset]
        return np.asarray((cols[item_indices] @ right.T).toarray(), dtype=np.float32)

    def item_embeddings(self) -> np.ndarray | None:
        """Item vectors such that ``score = user_vector · item_vector``, or ``None``."""
        return None

    def _save_extra(self, directory: Path) -> list[str]:
        return []

    def _load_extra(self, directory: Path) -> None:
        return None

    # ---------------------------------------------------------------- ranking
    def _popularity_rows(self, n_rows: int, item_indices: np.ndarray | None) -> np.ndarray:
        pop = self.item_popularity_ if item_indices is None else self.item_popularity_[item_indices]
        return np.tile(pop.astype(np.float32), (n_rows, 1))

    def _allowed_to_indices(self, allowed_items: Any) -> np.ndarray | None:
        """Internal allowed items: int indices or boolean mask -> sorted unique int64."""
        if allowed_items is None:
            return None
        a = np.asarray(allowed_items)
        if a.dtype == bool:
            if a.shape != (self.n_items,):
                raise ValueError(f"boolean allowed_items must have length n_items={self.n_items}")
            return np.flatnonzero(a).astype(np.int64)
        a = np.unique(a.astype(np.int64).ravel())
        if len(a) and (a[0] < 0 or a[-1] >= self.n_items):
            raise IndexError("allowed_items indices out of range")
        return a

    def _rank(
        self,
        n_rows: int,
        k: int,
        score_fn: Callable[[int, int, np.ndarray | None], np.ndarray],
        exclude_fn: Callable[[int, int], sp.csr_matrix | None] | None,
        empty_fn: Callable[[int, int], np.ndarray] | None,
        allowed: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        k = int(k)
        if k < 0:
            raise ValueError("k must be >= 0")
        out_idx = np.full((n_rows, k), -1, dtype=np.int64)
        out_sc = np.full((n_rows, k), -np.inf, dtype=np.float32)
        n_cols = self.n_items if allowed is None else len(allowed)
        if n_rows == 0 or k == 0 or n_cols == 0:
            return out_idx, out_sc
        col_pos = None
        if allowed is not None:
            col_pos = np.full(self.n_items, -1, dtype=np.int64)
            col_pos[allowed] = np.arange(len(allowed))
        batch = max(1, int(self.score_batch_elements) // max(n_cols, 1))
        for start in range(0, n_rows, batch):
            stop = min(start + batch, n_rows)
            scores = np.asarray(score_fn(start, stop, allowed), dtype=np.float32)
            if not scores.flags.writeable or not scores.flags.owndata and scores.base is not None:
                scores = scores.copy()
            if scores.shape != (stop - start, n_cols):
                raise RuntimeError(f"scoring hook returned shape {scores.shape}, expected {(stop - start, n_cols)}")
            if empty_fn is not None and self.cold_start_fallback:
                empty = empty_fn(start, stop)
                if empty.any():
                    scores[empty] = self._popularity_rows(int(empty.sum()), allowed)
            if exclude_fn is not None:
                excl = exclude_fn(start, stop)
                if excl is not None and excl.nnz:
                    rows = np.repeat(np.arange(stop - start), np.diff(excl.indptr))
                    cols = excl.indices.astype(np.int64)
                    if col_pos is not None:
                        cols = col_pos[cols]
                        keep = cols >= 0
                        rows, cols = rows[keep], cols[keep]
                    scores[rows, cols] = -np.inf
            idx, sc = topk(scores, k)
            if allowed is not None:
                idx = np.where(idx >= 0, allowed[np.maximum(idx, 0)], -1)
            out_idx[start:stop] = idx
            out_sc[start:stop] = sc
        return out_idx, out_sc

    def _user_indices(self, user_indices: Any) -> np.ndarray:
        u = np.asarray(user_indices, dtype=np.int64).reshape(-1)
        if len(u) and (u.min() < 0 or u.max() >= self.n_users):
            raise IndexError(f"user indices out of range [0, {self.n_users})")
        return u

    def recommend_indices(
        self,
        user_indices: Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        allowed_items: Any = None,
        seen: sp.spmatrix | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item *indices* and scores for known user *indices*.

        ``allowed_items``: item indices (or a boolean mask over items) that may be
        returned.  ``seen``: CSR in the model's index space (``n_users x n_items``,
        e.g. ``train.matrix``) whose non-zeros are excluded when ``exclude_seen``;
        default: the training matrix.
        """
        self._check_fitted()
        users = self._user_indices(user_indices)
        allowed = self._allowed_to_indices(allowed_items)
        if seen is None:
            seen_m = self.user_items_
        else:
            seen_m = sp.csr_matrix(seen)
            if seen_m.shape[1] != self.n_items or (len(users) and seen_m.shape[0] <= users.max()):
                raise ValueError(f"seen must be (n_users, n_items) in the model's index space, got {seen_m.shape}")
        history_nnz = np.diff(self.user_items_.indptr)
        return self._rank(
            len(users),
            k,
            lambda s, e, cand: self._score_users(users[s:e], cand),
            (lambda s, e: seen_m[users[s:e]]) if exclude_seen else None,
            lambda s, e: history_nnz[users[s:e]] == 0,
            allowed,
        )

    def recommend(
        self,
        user_ids: Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        allowed_items: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` external item ids and scores for known external user ids.

        Returns ``(ids, scores)`` of shape ``(len(user_ids), k)`` (a scalar user id
        is treated as a list of one).  ``allowed_items`` are external item ids;
        ids unknown to the model are ignored.  Unknown users raise ``KeyError``.
        """
        self._check_fitted()
        try:
            users = self.user_map_.to_index(user_ids)
        except KeyError as exc:
            raise KeyError(
                f"{type(self).__name__}: {exc.args[0]} were not in the training data; "
                "use recommend_for_items(...) to fold in new users"
            ) from None
        allowed = self._external_allowed(allowed_items)
        idx, scores = self.recommend_indices(users, k, exclude_seen=exclude_seen, allowed_items=allowed)
        return self.item_map_.to_external(idx), scores

    def _external_allowed(self, allowed_items: Any) -> np.ndarray | None:
        if allowed_items is None:
            return None
        a = self.item_map_.to_index(np.asarray(allowed_items).reshape(-1), missing="ignore")
        return a[a >= 0]

    def history_from_items(self, item_lists: Sequence[Sequence[Any]], weights: Sequence[Sequence[float]] | None = None) -> sp.csr_matrix:
        """CSR history rows from lists of external item ids (unknown ids ignored;
        duplicate ids are summed; default weight 1)."""
        self._check_fitted()
        lengths = np.fromiter((len(lst) for lst in item_lists), dtype=np.int64, count=len(item_lists))
        n = len(lengths)
        if lengths.sum() == 0:
            return sp.csr_matrix((n, self.n_items), dtype=np.float32)
        flat = np.concatenate([np.asarray(lst).reshape(-1) for lst in item_lists if len(lst)])
        idx = self.item_map_.to_index(flat, missing="ignore")
        rows = np.repeat(np.arange(n), lengths)
        if weights is None:
            w = np.ones(len(flat), dtype=np.float32)
        else:
            if [len(x) for x in weights] != lengths.tolist():
                raise ValueError("weights must have the same shape as item_lists")
            w = np.concatenate([np.asarray(x, dtype=np.float32).reshape(-1) for x in weights if len(x)])
        keep = idx >= 0
        m = sp.csr_matrix((w[keep], (rows[keep], idx[keep])), shape=(n, self.n_items), dtype=np.float32)
        m.sum_duplicates()
        m.data[m.data < 0] = 0
        m.eliminate_zeros()
        return m

    def recommend_history_indices(
        self,
        history: Any,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        allowed_items: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fold-in fast path: rank for CSR history rows (``n_rows x n_items``)."""
        self._check_fitted()
        h = _as_csr(history, self.n_items)
        nnz = np.diff(h.indptr)
        return self._rank(
            h.shape[0],
            k,
            lambda s, e, cand: self._score_history(h[s:e], cand),
            (lambda s, e: h[s:e]) if exclude_seen else None,
            lambda s, e: nnz[s:e] == 0,
            self._allowed_to_indices(allowed_items),
        )

    def recommend_for_items(
        self,
        item_lists: Sequence[Sequence[Any]],
        k: int = 10,
        *,
        weights: Sequence[Sequence[float]] | None = None,
        exclude_seen: bool = True,
        allowed_items: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fold-in: recommend for users unseen at fit time from their items.

        ``item_lists``: one list of external item ids per user (order = time order
        where a model cares); ``weights``: optional matching weights (default 1).
        The given items are excluded when ``exclude_seen``.
        """
        history = self.history_from_items(item_lists, weights)
        idx, scores = self.recommend_history_indices(
            history, k, exclude_seen=exclude_seen, allowed_items=self._external_allowed(allowed_items)
        )
        return self.item_map_.to_external(idx), scores

    def similar_items_indices(
        self, item_indices: Any, k: int = 10, *, allowed_items: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Most similar item indices (the query item itself excluded)."""
        self._check_fitted()
        items = np.asarray(item_indices, dtype=np.int64).reshape(-1)
        if len(items) and (items.min() < 0 or items.max() >= self.n_items):
            raise IndexError("item indices out of range")
        n = len(items)

        def exclude(s: int, e: int) -> sp.csr_matrix:
            return sp.csr_matrix(
                (np.ones(e - s, dtype=np.float32), (np.arange(e - s), items[s:e])), shape=(e - s, self.n_items)
            )

        return self._rank(
            n,
            k,
            lambda s, e, cand: self._similar_scores(items[s:e], cand),
            exclude,
            None,
            self._allowed_to_indices(allowed_items),
        )

    def similar_items(self, item_ids: Any, k: int = 10, *, allowed_items: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Most similar external item ids for each of ``item_ids`` (itself excluded).

        Unknown item ids raise ``KeyError``.
        """
        self._check_fitted()
        try:
            items = self.item_map_.to_index(item_ids)
        except KeyError as exc:
            raise KeyError(f"{type(self).__name__}: {exc.args[0]} were not in the training data") from None
        idx, scores = self.similar_items_indices(items, k, allowed_items=self._external_allowed(allowed_items))
        return self.item_map_.to_external(idx), scores

    def score_indices(self, user_indices: Any, item_indices: Any = None) -> np.ndarray:
        """Raw dense scores (no exclusion, no fallback) for known user indices."""
        self._check_fitted()
        users = self._user_indices(user_indices)
        items = None if item_indices is None else np.asarray(item_indices, dtype=np.int64)
        return np.asarray(self._score_users(users, items), dtype=np.float32)

    # -------------------------------------------------------------- artifacts
    def save(self, directory: str | Path) -> Path:
        """Write the fitted model to ``directory`` (JSON + npz + SHA256SUMS)."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta, arrays = pack_state(self._learned_state())
        params = self.get_params()
        try:
            json.dumps(params)
        except TypeError as exc:
            raise TypeError(f"hyperparameters of {type(self).__name__} must be JSON-serializable: {exc}") from None
        extra = self._save_extra(directory)
        config = {
            "model": self.name or type(self).__name__,
            "class": f"{type(self).__module__}:{type(self).__qualname__}",
            "params": params,
            "state": meta,
            "versions": {"python": platform.python_version(), "numpy": np.__version__},
        }
        return write_artifact(directory, config=config, arrays=arrays, extra_files=extra)

    @classmethod
    def load(cls, directory: str | Path) -> Recommender:
        """Load a model saved by :meth:`save`; checksums are verified first.

        ``Recommender.load(path)`` resolves the class through the registry;
        ``EASE.load(path)`` additionally checks the artifact is an EASE model.
        """
        directory = Path(directory)
        config, arrays = read_artifact(directory)
        model_cls: type[Recommender] | None = None
        if config.get("class") == f"{cls.__module__}:{cls.__qualname__}":
            model_cls = cls
        else:
            from ml.models.registry import get_model_class

            try:
                model_cls = get_model_class(config.get("model", ""))
            except ValueError as exc:
                raise ArtifactError(f"artifact model {config.get('model')!r} is not registered: {exc}") from None
        if not issubclass(model_cls, cls):
            raise ArtifactError(f"artifact holds a {model_cls.__name__}, not a {cls.__name__}")
        try:
            model = model_cls(**config.get("params", {}))
        except TypeError as exc:
            raise ArtifactError(f"artifact parameters do not match {model_cls.__name__}: {exc}") from None
        state = unpack_state(config.get("state", {}), arrays)
        model._cache = {}
        for key, value in state.items():
            setattr(model, key, value)
        if not model.is_fitted:
            raise ArtifactError("artifact has no fitted state")
        model._load_extra(directory)
        return model

    def __getstate__(self) -> dict:  # pragma: no cover - guard against pickling artifacts
        state = dict(vars(self))
        state.pop("_cache", None)
        return state

    def __setstate__(self, state: dict) -> None:  # pragma: no cover
        self.__dict__.update(state)
        self._cache = {}

    def __getattr__(self, name: str) -> Any:
        if name == "_cache":
            self._cache = {}
            return self._cache
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")


class FactorModel(Recommender):
    """Shared scoring path for latent-factor models.

    Subclasses set ``user_factors_`` ``(n_users, d)`` and ``item_factors_``
    ``(n_items, d)`` (float32) in ``_fit``; scores are ``U @ Vᵀ``.  Fold-in solves
    the implicit-ALS least squares for the user vector (:func:`als_fold_in`) with
    ``_fold_in_params() -> (regularization, alpha)``; override ``_fold_in`` for
    models with a different encoder (e.g. a sequence model).
    """

    def _fold_in_params(self) -> tuple[float, float]:
        return 0.01, 1.0

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        reg, alpha = self._fold_in_params()
        G = self._cache.get("gramian")
        if G is None:
            V = self.item_factors_.astype(np.float64)
            G = self._cache["gramian"] = V.T @ V
        return als_fold_in(history, self.item_factors_, regularization=reg, alpha=alpha, gramian=G)

    def user_vectors(self, user_indices: Any) -> np.ndarray:
        """User vectors in the scoring space for known user indices."""
        return self.user_factors_[self._user_indices(user_indices)]

    def fold_in_vectors(self, history: Any) -> np.ndarray:
        """User vectors for CSR history rows (new users)."""
        self._check_fitted()
        return self._fold_in(_as_csr(history, self.n_items))

    def _dot(self, U: np.ndarray, item_indices: np.ndarray | None) -> np.ndarray:
        V = self.item_factors_ if item_indices is None else self.item_factors_[item_indices]
        return np.asarray(U, dtype=np.float32) @ np.asarray(V, dtype=np.float32).T

    def _score_users(self, user_indices: np.ndarray, item_indices: np.ndarray | None = None) -> np.ndarray:
        return self._dot(self.user_factors_[user_indices], item_indices)

    def _score_history(self, history: sp.csr_matrix, item_indices: np.ndarray | None = None) -> np.ndarray:
        return self._dot(self._fold_in(history), item_indices)

    def _similar_scores(self, item_indices: np.ndarray, item_subset: np.ndarray | None = None) -> np.ndarray:
        normed = self._cache.get("normed_items")
        if normed is None:
            normed = self._cache["normed_items"] = unit_rows(self.item_factors_)
        right = normed if item_subset is None else normed[item_subset]
        return normed[item_indices] @ right.T

    def item_embeddings(self) -> np.ndarray | None:
        return np.asarray(self.item_factors_, dtype=np.float32)

    def user_embeddings(self) -> np.ndarray | None:
        return np.asarray(self.user_factors_, dtype=np.float32)
