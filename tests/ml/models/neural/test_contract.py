"""Every neural recommender through the shared contract (tests/ml/contract.py).

Small networks and few epochs keep this CPU-only and fast; the hyperparameters are
the tiny-data versions of each model's defaults (higher learning rates, smaller
layers), not different algorithms.
"""

from __future__ import annotations

import pytest
import torch

from ml.models.neural.bert4rec import BERT4Rec
from ml.models.neural.fm import FactorizationMachine
from ml.models.neural.lightgcn import LightGCN
from ml.models.neural.multivae import MultiVAE
from ml.models.neural.ncf import NCF
from ml.models.neural.sasrec import SASRec
from ml.models.neural.widedeep import WideDeep
from tests.ml.contract import RecommenderContract

CPU = dict(device="cpu", random_state=0)


class NeuralContract(RecommenderContract):
    popularity_margin = 2.0  # "clearly beats": every model reaches > 2.3x popularity's NDCG@10 here
    id_namings = ("hashed strings",)  # one refit per model: the classic models check both namings


@pytest.fixture(autouse=True, scope="module")
def _few_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 threads on 2 shared cores: OpenMP spin-waits make it 10x slower
    yield
    torch.set_num_threads(before)


class TestMultiVAE(NeuralContract):
    fold_in_overlap = 0.6  # same encoder; only the input weights differ (event weights vs 1)

    def make_model(self):
        return MultiVAE(hidden=64, latent=32, epochs=25, batch_size=64, lr=3e-3, anneal_steps=200, patience=8, **CPU)


class TestLightGCN(NeuralContract):
    fold_in_overlap = 0.7  # exact one-node propagation vs the trained user embedding

    def make_model(self):
        return LightGCN(factors=32, n_layers=2, epochs=15, batch_size=1024, lr=2e-2, patience=5, **CPU)


class TestNCF(NeuralContract):
    fold_in_overlap = 0.4  # gradient fold-in from the mean user

    def make_model(self):
        return NCF(factors=8, mlp_layers=2, epochs=12, batch_size=512, lr=1e-2, patience=4, fold_in_steps=40, **CPU)


class TestSASRec(NeuralContract):
    fold_in_overlap = 0.5  # fold-in lists come in item-index order, not time order

    def make_model(self):
        return SASRec(hidden=32, max_len=24, epochs=15, batch_size=64, lr=5e-3, patience=5, **CPU)


class TestBERT4Rec(NeuralContract):
    fold_in_overlap = 0.5

    def make_model(self):
        return BERT4Rec(hidden=32, max_len=24, epochs=15, batch_size=64, lr=5e-3, patience=5, mask_prob=0.3, **CPU)


class TestFactorizationMachine(NeuralContract):
    fold_in_overlap = 0.4

    def make_model(self):
        return FactorizationMachine(factors=16, epochs=8, batch_size=512, lr=1e-2, patience=3, fold_in_steps=40, **CPU)


class TestWideDeep(NeuralContract):
    fold_in_overlap = 0.3

    def make_model(self):
        return WideDeep(
            embed_dim=16, hidden=32, n_hidden_layers=2, cross_buckets=4096, epochs=8, batch_size=512, lr=1e-2,
            patience=3, fold_in_steps=40, **CPU,
        )  # fmt: skip
