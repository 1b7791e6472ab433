"""NeuMF (He, Liao, Zhang, Nie, Hu, Chua, WWW 2017: "Neural Collaborative Filtering").

* GMF tower: ``phi_GMF = p_u^G * q_i^G`` (element-wise product, ``factors`` wide).
* MLP tower: ``[p_u^M ; q_i^M] -> ReLU layers`` (``mlp_layers``, a tower that halves;
  the first entry is the concatenated input width, so each MLP embedding is
  ``mlp_layers[0] // 2`` wide, as in the paper's "[64, 32, 16, 8]" notation).
* Prediction: ``y_hat = sigmoid(h^T [phi_GMF ; phi_MLP])`` (eq. 12).
* Loss: binary cross-entropy (log loss, eq. 7) on each observed pair and ``n_neg``
  uniformly sampled unobserved items per positive, resampled every epoch.

The paper's optional pre-training of GMF and MLP separately is not done (the authors
report NeuMF without it as only slightly worse; it doubles training time).

Fold-in (``recommend_for_items`` for users not seen in fit): NeuMF has no user encoder,
so a fresh pair of user embeddings (GMF + MLP) is fitted by ``fold_in_steps`` Adam
steps on the same BCE objective (given items as positives, ``n_neg`` sampled
negatives), with every network weight and item embedding frozen. Sampling uses a
Generator seeded from the model seed, so fold-in is deterministic.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ml.dataset import Interactions
from ml.models.base import Recommender
from ml.models.neural.data import NegativeSampler
from ml.models.neural.torch_base import TorchModelMixin, cosine_rows
from ml.models.registry import register

__all__ = ["NCF", "NeuMFNet", "mlp_tower"]


def mlp_tower(factors: int, n_layers: int) -> tuple[int, ...]:
    """Halving tower ending at ``factors``: ``factors=8, n_layers=3`` -> (64, 32, 16, 8),
    the paper's "3 MLP layers, 8 predictive factors" configuration."""
    return tuple(factors * 2 ** (n_layers - k) for k in range(n_layers + 1))


class NeuMFNet(nn.Module):
    def __init__(self, n_users: int, n_items: int, factors: int = 16, mlp_layers: tuple[int, ...] = (64, 32, 16), dropout: float = 0.0):
        super().__init__()
        mlp_layers = tuple(int(x) for x in mlp_layers)
        half = mlp_layers[0] // 2
        self.user_gmf = nn.Embedding(n_users, factors)
        self.item_gmf = nn.Embedding(n_items, factors)
        self.user_mlp = nn.Embedding(n_users, half)
        self.item_mlp = nn.Embedding(n_items, half)
        layers: list[nn.Module] = []
        width = 2 * half
        for out in mlp_layers[1:]:
            layers += [nn.Linear(width, out), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = out
        self.mlp = nn.Sequential(*layers)
        self.predict = nn.Linear(factors + width, 1)
        for emb in (self.user_gmf, self.item_gmf, self.user_mlp, self.item_mlp):
            nn.init.normal_(emb.weight, std=0.01)  # paper: N(0, 0.01)
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.kaiming_uniform_(self.predict.weight, a=1, nonlinearity="sigmoid")
        nn.init.zeros_(self.predict.bias)

    def logits_from(self, ug: torch.Tensor, um: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits for aligned ``(user vectors, item indices)``; user vectors may be free tensors."""
        gmf = ug * self.item_gmf(items)
        mlp = self.mlp(torch.cat([um, self.item_mlp(items)], dim=-1))
        return self.predict(torch.cat([gmf, mlp], dim=-1)).squeeze(-1)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.logits_from(self.user_gmf(users), self.user_mlp(users), items)

    def score_all(self, ug: torch.Tensor, um: torch.Tensor, item_block: int = 4096) -> torch.Tensor:
        """``(B, n_items)`` logits for B user vectors against every item.

        GMF and the first MLP layer are split so the item half of layer 1 is computed
        once per item, not once per (user, item) pair.
        """
        n_items = self.item_gmf.num_embeddings
        b = ug.shape[0]
        out = torch.empty((b, n_items), device=ug.device)
        w_pred = self.predict.weight[0]
        f = ug.shape[1]
        first = self.mlp[0] if len(self.mlp) else None
        for start in range(0, n_items, item_block):
            items = torch.arange(start, min(start + item_block, n_items), device=ug.device)
            gmf = (ug * w_pred[:f]) @ self.item_gmf(items).T  # (B, I_blk)
            if first is None:
                x = torch.cat(
                    [um[:, None, :].expand(-1, len(items), -1), self.item_mlp(items)[None].expand(b, -1, -1)], dim=-1
                )
                mlp_out = x
            else:
                half = um.shape[1]
                wu, wi = first.weight[:, :half], first.weight[:, half:]
                h = (um @ wu.T)[:, None, :] + (self.item_mlp(items) @ wi.T)[None] + first.bias
                mlp_out = self.mlp[1:](h)
            out[:, start : start + len(items)] = gmf + mlp_out @ w_pred[f:] + self.predict.bias
        return out


@register("ncf")
class NCF(TorchModelMixin, Recommender):
    """NeuMF (GMF + MLP towers). Defaults after the paper: 16 predictive factors, a
    3-layer halving MLP tower (128-64-32-16), 4 negatives per positive, Adam 1e-3
    (batch 1024 instead of 256 for CPU throughput; the paper tried 128-1024).

    Not a dot-product model, so scoring runs the network over (user, item) pairs in
    item blocks; ``item_embeddings()`` is ``None``; ``similar_items`` uses cosine of the
    concatenated item embeddings [GMF ; MLP].
    """

    def __init__(
        self,
        *,
        factors: int = 16,
        mlp_layers: int = 3,
        dropout: float = 0.0,
        n_neg: int = 4,
        fold_in_steps: int = 50,
        fold_in_lr: float = 0.05,
        fold_in_l2: float = 1e-3,
        epochs: int = 50,
        batch_size: int = 1024,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int = 5,
        val_fraction: float = 0.1,
        random_state: int = 0,
        device: str = "auto",
        progress: bool = False,
    ):
        self.factors = factors
        self.mlp_layers = mlp_layers
        self.dropout = dropout
        self.n_neg = n_neg
        self.fold_in_steps = fold_in_steps
        self.fold_in_lr = fold_in_lr
        self.fold_in_l2 = fold_in_l2
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
        if self.factors < 1 or self.mlp_layers < 1:
            raise ValueError("factors and mlp_layers must be >= 1")
        if self.n_neg < 1:
            raise ValueError("n_neg must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        if self.fold_in_steps < 0 or self.fold_in_lr <= 0 or self.fold_in_l2 < 0:
            raise ValueError("fold_in_steps >= 0, fold_in_lr > 0, fold_in_l2 >= 0 required")

    def _build_net(self) -> NeuMFNet:
        return NeuMFNet(self.n_users, self.n_items, self.factors, mlp_tower(self.factors, self.mlp_layers), self.dropout)

    def _fit(self, dataset: Interactions) -> None:
        rng, dev = self._start_fit()
        split = self._validation_matrix(dataset.binarized(), rng)
        train = split.train
        net = self._build_net().to(dev)
        pos_u = np.repeat(np.arange(train.shape[0], dtype=np.int64), np.diff(train.indptr))
        pos_i = train.indices.astype(np.int64)
        sampler = NegativeSampler(train)
        labels = np.concatenate([np.ones(len(pos_u), np.float32), np.zeros(len(pos_u) * self.n_neg, np.float32)])
        users_all = np.concatenate([pos_u, np.repeat(pos_u, self.n_neg)])

        def epoch_items() -> np.ndarray:
            neg = sampler.sample(pos_u, self.n_neg, rng).reshape(-1)  # fresh negatives every epoch
            return np.concatenate([pos_i, neg])

        def batch_loss(b: np.ndarray, items_all: np.ndarray) -> torch.Tensor:
            u = torch.from_numpy(users_all[b]).to(dev)
            i = torch.from_numpy(items_all[b]).to(dev)
            y = torch.from_numpy(labels[b]).to(dev)
            return F.binary_cross_entropy_with_logits(net(u, i), y)

        def score_rows(rows: np.ndarray) -> torch.Tensor:
            u = torch.from_numpy(split.users[rows]).to(dev)
            return net.score_all(net.user_gmf(u), net.user_mlp(u))

        evaluate = self._evaluator(split, score_rows)
        self._train(net, rng, evaluate, n_samples=len(users_all), batch_loss=batch_loss, epoch_data=epoch_items)
        self.net_ = net

    @torch.no_grad()
    def _scores_from_vectors(self, ug: torch.Tensor, um: torch.Tensor, item_indices: np.ndarray | None) -> np.ndarray:
        self.net_.eval()
        scores = self.net_.score_all(ug, um).cpu().numpy()
        return scores if item_indices is None else scores[:, item_indices]

    def _score_users(self, user_indices: np.ndarray, item_indices: np.ndarray | None = None) -> np.ndarray:
        u = torch.from_numpy(np.asarray(user_indices, dtype=np.int64)).to(self._torch_device())
        return self._scores_from_vectors(self.net_.user_gmf(u), self.net_.user_mlp(u), item_indices)

    def _score_history(self, history: sp.csr_matrix, item_indices: np.ndarray | None = None) -> np.ndarray:
        """Gradient fold-in (module docstring), started from the mean trained user."""
        net, n = self.net_, history.shape[0]
        init = [
            net.user_gmf.weight.mean(0, keepdim=True).expand(n, -1),
            net.user_mlp.weight.mean(0, keepdim=True).expand(n, -1),
        ]
        ug, um = self._frozen_fold_in(init, lambda p, rows, items: net.logits_from(p[0][rows], p[1][rows], items), history)
        return self._scores_from_vectors(ug, um, item_indices)

    def _similar_scores(self, item_indices: np.ndarray, item_subset: np.ndarray | None = None) -> np.ndarray:
        v = self._cache.get("item_vectors")
        if v is None:
            net = self.net_
            v = torch.cat([net.item_gmf.weight, net.item_mlp.weight], 1).detach().cpu().numpy()
            self._cache["item_vectors"] = v
        return cosine_rows(v, item_indices, item_subset)
