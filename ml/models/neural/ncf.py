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

import torch
from torch import nn


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
