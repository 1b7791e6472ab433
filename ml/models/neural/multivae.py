"""Mult-VAE (Liang, Krishnan, Hoffman, Jebara, WWW 2018: "Variational Autoencoders for
Collaborative Filtering").

Network (paper, section 2 and the authors' code): ``x -> L2-normalise -> dropout ->
[Linear, tanh]* -> (mu, logvar)``; decoder ``z -> [Linear, tanh]* -> Linear`` giving
item logits ``f(z)``; multinomial likelihood ``log pi = log_softmax(f(z))``.
Objective (eq. 6, beta-VAE with annealing):

    L = E_q[ sum_i x_ui log pi_i(z) ] - beta * KL(q(z|x_u) || N(0, I))

with ``beta = min(anneal_cap, updates / anneal_steps)``. Prediction and fold-in of an
unseen user are the same encoder forward pass on the user's item vector, taking
``z = mu`` and no dropout, so ``recommend_for_items`` needs no gradient steps.

Input values: the rows of ``Interactions.matrix`` are used as the multinomial counts
``x_ui`` (event weights act as repeated clicks); set ``binarize=True`` for the
paper's 0/1 clicks.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ml.dataset import Interactions
from ml.models.base import FactorModel
from ml.models.neural.data import csr_rows_to_dense, minibatches
from ml.models.neural.torch_base import TorchModelMixin, cosine_rows
from ml.models.registry import register

__all__ = ["MultiVAE", "MultiVAENet", "multinomial_log_likelihood", "gaussian_kl", "multivae_loss", "anneal_beta"]


class MultiVAENet(nn.Module):
    def __init__(self, n_items: int, hidden: int = 600, latent: int = 200, dropout: float = 0.5, n_hidden_layers: int = 1):
        super().__init__()
        self.n_items = n_items
        dims = [n_items] + [hidden] * n_hidden_layers
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=False))
        self.to_stats = nn.Linear(dims[-1], 2 * latent)
        rdims = [latent] + [hidden] * n_hidden_layers
        self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(rdims[:-1], rdims[1:], strict=False))
        self.to_logits = nn.Linear(rdims[-1], n_items)
        self.drop = nn.Dropout(dropout)
        self.latent = latent
        for layer in [*self.encoder, self.to_stats, *self.decoder, self.to_logits]:
            # Xavier weights, N(0, 0.001) biases: the authors' initialisation.
            nn.init.xavier_uniform_(layer.weight)
            nn.init.normal_(layer.bias, std=0.001)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.drop(F.normalize(x, p=2, dim=1))
        for layer in self.encoder:
            h = torch.tanh(layer(h))
        mu, logvar = self.to_stats(h).chunk(2, dim=1)
        return mu, logvar

    def decoder_hidden(self, z: torch.Tensor) -> torch.Tensor:
        """Last decoder activation ``h``: logits are ``h @ to_logits.weight.T + bias``."""
        h = z
        for layer in self.decoder:
            h = torch.tanh(layer(h))
        return h

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.to_logits(self.decoder_hidden(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        if self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        else:
            z = mu
        return self.decode(z), mu, logvar


def multinomial_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-user ``sum_i x_ui * log softmax(logits)_i``  (shape ``(batch,)``)."""
    return (F.log_softmax(logits, dim=1) * x).sum(dim=1)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-user ``KL(N(mu, exp(logvar)) || N(0, I))`` = ``0.5 * sum(exp(lv) + mu^2 - 1 - lv)``."""
    return 0.5 * (torch.exp(logvar) + mu.pow(2) - 1.0 - logvar).sum(dim=1)


def multivae_loss(logits, x, mu, logvar, beta: float) -> torch.Tensor:
    """Negative ELBO averaged over the batch (what the paper minimises)."""
    return (-multinomial_log_likelihood(logits, x) + beta * gaussian_kl(mu, logvar)).mean()


def anneal_beta(update: int, anneal_steps: int, anneal_cap: float) -> float:
    if anneal_steps <= 0:
        return float(anneal_cap)
    return float(min(anneal_cap, update / anneal_steps))


@register("multivae")
class MultiVAE(TorchModelMixin, FactorModel):
    """Mult-VAE with the paper's defaults ([I -> 600 -> 200 -> 600 -> I], dropout 0.5,
    beta annealed to 0.2, Adam 1e-3, batch 500).

    Scoring: the logits are linear in the last decoder activation, so the model is
    stored as factors -- ``user_factors_ = [h(mu(x_u)), 1]`` and
    ``item_factors_ = [W_out, b_out]`` -- and ranks exactly like ``softmax(f(z))``
    (softmax is monotone). Known users are encoded from their full training row
    after fit; new users (``recommend_for_items``) by the same encoder pass.

    ``anneal_steps``: updates to reach ``anneal_cap`` (the paper uses 200 000 on
    ML-20M, about 200 epochs of 233 batches; 20 000 suits catalogue-sized data).
    """

    def __init__(
        self,
        *,
        hidden: int = 600,
        latent: int = 200,
        n_hidden_layers: int = 1,
        dropout: float = 0.5,
        anneal_cap: float = 0.2,
        anneal_steps: int = 20000,
        binarize: bool = False,
        epochs: int = 200,
        batch_size: int = 500,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int = 10,
        val_fraction: float = 0.1,
        random_state: int = 0,
        device: str = "auto",
        progress: bool = False,
    ):
        self.hidden = hidden
        self.latent = latent
        self.n_hidden_layers = n_hidden_layers
        self.dropout = dropout
        self.anneal_cap = anneal_cap
        self.anneal_steps = anneal_steps
        self.binarize = binarize
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
        if self.hidden < 1 or self.latent < 1 or self.n_hidden_layers < 0:
            raise ValueError("hidden and latent must be >= 1, n_hidden_layers >= 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        if self.anneal_cap < 0 or self.anneal_steps < 0:
            raise ValueError("anneal_cap and anneal_steps must be >= 0")

    def _build_net(self) -> MultiVAENet:
        return MultiVAENet(self.n_items, self.hidden, self.latent, self.dropout, self.n_hidden_layers)

    def _inputs(self, matrix: sp.spmatrix) -> sp.csr_matrix:
        x = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
        if self.binarize:
            x.data[:] = 1.0
        return x

    def _fit(self, dataset: Interactions) -> None:
        rng, dev = self._start_fit()
        X = self._inputs(dataset.matrix)
        split = self._validation_matrix(X, rng)
        train = split.train
        net = self._build_net().to(dev)
        users = np.flatnonzero(np.diff(train.indptr) > 0)
        updates = [0]

        def batch_loss(b: np.ndarray, _: None) -> torch.Tensor:
            x = csr_rows_to_dense(train, users[b], dev)
            beta = anneal_beta(updates[0], self.anneal_steps, self.anneal_cap)
            updates[0] += 1
            logits, mu, logvar = net(x)
            return multivae_loss(logits, x, mu, logvar, beta)

        def score_rows(rows: np.ndarray) -> torch.Tensor:
            return net(csr_rows_to_dense(train, split.users[rows], dev))[0]

        self._train(net, rng, self._evaluator(split, score_rows), n_samples=len(users), batch_loss=batch_loss)
        self.net_ = net
        self.anneal_updates_ = int(updates[0])
        w = net.to_logits.weight.detach().cpu().numpy()
        b = net.to_logits.bias.detach().cpu().numpy()[:, None]
        self.item_factors_ = np.ascontiguousarray(np.hstack([w, b]), dtype=np.float32)
        self.user_factors_ = self._encode(X)

    @torch.no_grad()
    def _encode(self, rows: sp.csr_matrix, batch: int = 2048) -> np.ndarray:
        """``[h(mu(x)), 1]`` per row (dropout off, z = mu)."""
        net, dev = self.net_, self._torch_device()
        net.eval()
        out = np.zeros((rows.shape[0], self.hidden if self.n_hidden_layers else self.latent), dtype=np.float32)
        for b in minibatches(rows.shape[0], batch):
            mu, _ = net.encode(csr_rows_to_dense(rows, b, dev))
            out[b] = net.decoder_hidden(mu).cpu().numpy()
        return np.hstack([out, np.ones((len(out), 1), dtype=np.float32)])

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        return self._encode(self._inputs(history))

    def _similar_scores(self, item_indices: np.ndarray, item_subset: np.ndarray | None = None) -> np.ndarray:
        # cosine of the output-layer item vectors (bias column left out)
        return cosine_rows(self.item_factors_[:, :-1], item_indices, item_subset)
