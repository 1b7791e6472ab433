"""Mult-VAE against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.models.neural.multivae import (
    MultiVAE,
    anneal_beta,
    gaussian_kl,
    multinomial_log_likelihood,
    multivae_loss,
)


def test_multivae_loss_pieces_by_hand():
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    x = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    mu = torch.tensor([[0.5, -0.2], [0.0, 1.0]])
    logvar = torch.tensor([[0.1, -0.3], [0.0, 0.2]])
    lg = logits.numpy().astype(np.float64)
    logsoft = lg - np.log(np.exp(lg).sum(1, keepdims=True))
    ll = (logsoft * x.numpy()).sum(1)
    np.testing.assert_allclose(multinomial_log_likelihood(logits, x).numpy(), ll, rtol=1e-6)
    m, lv = mu.numpy().astype(np.float64), logvar.numpy().astype(np.float64)
    kl = 0.5 * (np.exp(lv) + m**2 - 1 - lv).sum(1)
    np.testing.assert_allclose(gaussian_kl(mu, logvar).numpy(), kl, rtol=1e-6)
    assert float(multivae_loss(logits, x, mu, logvar, beta=0.3)) == pytest.approx(float(np.mean(-ll + 0.3 * kl)), rel=1e-6)
    assert float(gaussian_kl(torch.zeros(1, 4), torch.zeros(1, 4))) == 0.0  # q = prior


def test_multivae_beta_annealing():
    assert anneal_beta(0, 100, 0.2) == 0.0
    assert anneal_beta(10, 100, 0.2) == pytest.approx(0.1)
    assert anneal_beta(1000, 100, 0.2) == pytest.approx(0.2)  # capped
    assert anneal_beta(5, 0, 0.2) == pytest.approx(0.2)


def test_multivae_scores_equal_decoder_logits(small):
    model = MultiVAE(hidden=16, latent=8, epochs=2, batch_size=32, device="cpu").fit(small)
    users = np.arange(5)
    with torch.no_grad():
        x = torch.from_numpy(small.matrix[users].toarray())
        logits = model.net_.eval()(x)[0].numpy()
    np.testing.assert_allclose(model.score_indices(users), logits, rtol=1e-4, atol=1e-4)
