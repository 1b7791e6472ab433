"""LightGCN (He, Deng, Wang, Li, Zhang, Wang, SIGIR 2020: "LightGCN: Simplifying and
Powering Graph Convolution Network for Recommendation").

* Graph: bipartite user-item adjacency ``A = [[0, R], [R^T, 0]]`` (R binarised) and the
  symmetric normalisation ``A_hat = D^-1/2 A D^-1/2`` (eq. 7), held as a torch sparse
  tensor (CSR on CPU, COO on CUDA). Isolated nodes get a zero row.
* Propagation: ``E^(k+1) = A_hat E^(k)`` for ``k < K`` -- no weight matrices, no
  non-linearity, no self loops (eq. 3).
* Layer combination: ``E = mean_k E^(k)``, i.e. ``alpha_k = 1/(K+1)`` (eq. 4, the
  paper's default).
* Loss: BPR with one uniformly sampled unobserved negative per observed pair, plus
  ``l2 * (||e_u^0||^2 + ||e_i^0||^2 + ||e_j^0||^2) / 2`` on the *ego* (layer-0)
  embeddings of the batch, averaged over the batch (eq. 15 and the authors' code).
* Scoring: dot product of the final (layer-mean) user and item embeddings.

Fold-in for a user that was not in the graph (``recommend_for_items``): add the user as
a new node with a zero ego embedding and the given items as edges, keep the item side
fixed, and propagate that node exactly:
``e_u^(k+1) = sum_{i in N_u} e_i^(k) / sqrt(|N_u| |N_i|)``, so
``e_u = 1/(K+1) * sum_{k<K} sum_i e_i^(k) / sqrt(|N_u| |N_i|)``.
This needs ``S = sum_{k<K} E_items^(k)`` and the item degrees, both kept after fit.
(The new user's effect on the item embeddings -- one edge among many -- is ignored.)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ml.dataset import Interactions
from ml.models.base import FactorModel
from ml.models.neural.data import NegativeSampler, scipy_to_torch_sparse
from ml.models.neural.torch_base import TorchModelMixin
from ml.models.neural.validation import evaluate_ndcg
from ml.models.registry import register

__all__ = ["LightGCN", "LightGCNNet", "normalized_adjacency"]


def normalized_adjacency(interactions: sp.spmatrix) -> sp.csr_matrix:
    """``D^-1/2 A D^-1/2`` of the (n_users + n_items)-node bipartite graph, scipy CSR."""
    r = sp.csr_matrix(interactions, dtype=np.float32, copy=True)
    r.data[:] = 1.0
    r.sum_duplicates()
    r.data[:] = 1.0
    n_users, n_items = r.shape
    a = sp.bmat([[None, r], [r.T, None]], format="csr", dtype=np.float32)
    deg = np.asarray(a.sum(axis=1)).ravel()
    with np.errstate(divide="ignore"):
        inv_sqrt = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-12)), 0.0).astype(np.float32)
    d = sp.diags(inv_sqrt)
    out = (d @ a @ d).tocsr()
    out.sort_indices()
    return out


class LightGCNNet(nn.Module):
    def __init__(self, n_users: int, n_items: int, factors: int = 64, n_layers: int = 3):
        super().__init__()
        self.n_users, self.n_items, self.n_layers = n_users, n_items, n_layers
        self.user_emb = nn.Embedding(n_users, factors)
        self.item_emb = nn.Embedding(n_items, factors)
        # The authors' code initialises ego embeddings with N(0, 0.1).
        nn.init.normal_(self.user_emb.weight, std=0.1)
        nn.init.normal_(self.item_emb.weight, std=0.1)

    def layers(self, adj: torch.Tensor) -> list[torch.Tensor]:
        """``[E^(0), ..., E^(K)]`` over the stacked user+item node set."""
        e = torch.cat([self.user_emb.weight, self.item_emb.weight], dim=0)
        out = [e]
        for _ in range(self.n_layers):
            e = torch.sparse.mm(adj, e)
            out.append(e)
        return out

    def propagate(self, adj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Final (layer-mean) user and item embeddings."""
        final = torch.stack(self.layers(adj), dim=0).mean(dim=0)
        return final[: self.n_users], final[self.n_users :]

    def bpr_loss(
        self, adj: torch.Tensor, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, l2: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        u_final, i_final = self.propagate(adj)
        eu, ep, en = u_final[users], i_final[pos], i_final[neg]
        bpr = F.softplus(-((eu * ep).sum(1) - (eu * en).sum(1))).mean()  # -log sigmoid(x) = softplus(-x)
        ego = (
            self.user_emb.weight[users].pow(2).sum()
            + self.item_emb.weight[pos].pow(2).sum()
            + self.item_emb.weight[neg].pow(2).sum()
        ) / (2 * len(users))
        return bpr, l2 * ego


@register("lightgcn")
class LightGCN(TorchModelMixin, FactorModel):
    """LightGCN with the paper's defaults (64 factors, 3 layers, Adam 1e-3, L2 1e-4,
    batch 2048). Each mini-batch propagates the whole graph (as in the paper), so an
    epoch costs ``n_batches * K`` sparse products; raise ``batch_size`` on big graphs.

    After training, the final embeddings are computed once more on the *full*
    training graph (the validation edges held out for early stopping included) and
    stored as ``user_factors_`` / ``item_factors_``; scoring, ``similar_items`` and
    ``item_embeddings`` are the shared :class:`FactorModel` path. Fold-in: see the
    module docstring.
    """

    def __init__(
        self,
        *,
        factors: int = 64,
        n_layers: int = 3,
        l2: float = 1e-4,
        epochs: int = 200,
        batch_size: int = 2048,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int = 10,
        val_fraction: float = 0.1,
        random_state: int = 0,
        device: str = "auto",
        progress: bool = False,
    ):
        self.factors = factors
        self.n_layers = n_layers
        self.l2 = l2
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def _validate_params(self) -> None:
        self._validate_common()
        if self.factors < 1:
            raise ValueError("factors must be >= 1")
        if self.n_layers < 1:
            raise ValueError("n_layers must be >= 1 (0 layers is plain BPR-MF)")
        if self.l2 < 0:
            raise ValueError("l2 must be >= 0")

    def _build_net(self) -> LightGCNNet:
        return LightGCNNet(self.n_users, self.n_items, self.factors, self.n_layers)

    def _fit(self, dataset: Interactions) -> None:
        rng, dev = self._start_fit()
        split = self._validation_matrix(dataset.binarized(), rng)
        train = split.train
        adj = scipy_to_torch_sparse(normalized_adjacency(train), dev)
        net = self._build_net().to(dev)
        pair_users = np.repeat(np.arange(train.shape[0], dtype=np.int64), np.diff(train.indptr))
        pair_items = train.indices.astype(np.int64)
        sampler = NegativeSampler(train)

        def batch_loss(b: np.ndarray, _: None) -> torch.Tensor:
            u, i = pair_users[b], pair_items[b]
            j = sampler.sample(u, 1, rng)[:, 0]
            bpr, reg = net.bpr_loss(
                adj,
                torch.from_numpy(u).to(dev),
                torch.from_numpy(i).to(dev),
                torch.from_numpy(j).to(dev),
                self.l2,
            )
            return bpr + reg

        def evaluate() -> float:
            users_e, items_e = net.propagate(adj)
            return evaluate_ndcg(
                lambda rows: users_e[torch.from_numpy(split.users[rows]).to(dev)] @ items_e.T,
                split,
                k=self.val_k,
                batch_size=self.val_batch_users,
            )

        self._train(net, rng, None if split.empty else evaluate, n_samples=len(pair_users), batch_loss=batch_loss)
        self.net_ = net
        full = dataset.binarized()
        with torch.no_grad():
            layers = net.layers(scipy_to_torch_sparse(normalized_adjacency(full), dev))
            final = torch.stack(layers).mean(0).cpu().numpy()
            below_top = torch.stack(layers[:-1]).sum(0)[self.n_users :].cpu().numpy()
        self.user_factors_ = np.ascontiguousarray(final[: self.n_users], dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(final[self.n_users :], dtype=np.float32)
        self.item_layer_sum_ = np.ascontiguousarray(below_top, dtype=np.float32)
        self.item_degree_ = np.bincount(full.indices, minlength=self.n_items).astype(np.float32)

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """Exact propagation of a new zero-ego node (module docstring)."""
        h = sp.csr_matrix(history, dtype=np.float32, copy=True)
        h.data[:] = 1.0
        h.sum_duplicates()
        h.data[:] = 1.0
        deg_u = np.diff(h.indptr).astype(np.float32)
        deg_i = self.item_degree_[h.indices]
        rows = np.repeat(np.arange(h.shape[0]), np.diff(h.indptr))
        with np.errstate(divide="ignore"):
            coef = np.where(deg_i > 0, 1.0 / np.sqrt(deg_u[rows] * np.maximum(deg_i, 1.0)), 0.0)
        norm = sp.csr_matrix((coef.astype(np.float32), h.indices, h.indptr), shape=h.shape)
        return np.asarray(norm @ self.item_layer_sum_, dtype=np.float32) / (self.n_layers + 1)
