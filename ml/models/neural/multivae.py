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
import torch
import torch.nn.functional as F
from torch import nn


class MultiVAENet(nn.Module):
    def __init__(self, n_items: int, hidden: int = 600, latent: int = 200, dropout: float = 0.5, n_hidden_layers: int = 1):
        super().__init__()
        self.n_items = n_items
        dims = [n_items] + [hidden] * n_hidden_layers
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.to_stats = nn.Linear(dims[-1], 2 * latent)
        rdims = [latent] + [hidden] * n_hidden_layers
        self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(rdims[:-1], rdims[1:]))
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

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for layer in self.decoder:
            h = torch.tanh(layer(h))
        return self.to_logits(h)

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
