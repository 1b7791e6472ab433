"""LightGCN (He, Deng, Wang, Li, Zhang, Wang, SIGIR 2020: "LightGCN: Simplifying and
Powering Graph Convolution Network for Recommendation").

* Graph: bipartite user-item adjacency ``A = [[0, R], [R^T, 0]]`` (R binarised) and the
  symmetric normalisation ``A_hat = D^-1/2 A D^-1/2`` (eq. 7), held as a torch sparse
  CSR tensor. Isolated nodes get a zero row.
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
