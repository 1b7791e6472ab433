"""Neural recommenders (torch). Importing this package does NOT import torch.

The registry reads :data:`MODELS` (name -> ``"module:Class"``) lazily, so torch is
loaded only when one of these models is built::

    from ml.models.registry import model_from_config
    model = model_from_config({"name": "lightgcn", "factors": 64, "device": "auto"})

=========== ========================================= ==========================
name        model                                     module
=========== ========================================= ==========================
multivae    Mult-VAE (Liang et al. 2018)              :mod:`.multivae`
lightgcn    LightGCN (He et al. 2020)                 :mod:`.lightgcn`
ncf         NeuMF / NCF (He et al. 2017)              :mod:`.ncf`
sasrec      SASRec (Kang & McAuley 2018)              :mod:`.sasrec`
bert4rec    BERT4Rec (Sun et al. 2019)                :mod:`.bert4rec`
fm          Factorization Machine (Rendle 2010)       :mod:`.fm`
widedeep    Wide & Deep (Cheng et al. 2016)           :mod:`.widedeep`
=========== ========================================= ==========================

Shared machinery, by concern:

* :mod:`.torch_base` -- :class:`~.torch_base.TorchModelMixin` (device, the shared fit
  loop ``_train``, ``weights.pt`` artifacts);
* :mod:`.training` -- seeding, one epoch of mini-batch steps, early stopping, gradient fold-in;
* :mod:`.data` -- mini-batches, scipy -> torch, negative sampling;
* :mod:`.validation` -- the early-stopping hold-out and NDCG@k;
* :mod:`.feature_ranker` -- feature layout and context of FM and Wide & Deep;
* :mod:`.sequence` -- sequences and the transformer encoder of SASRec and BERT4Rec.
"""

MODELS: dict[str, str] = {
    "multivae": "ml.models.neural.multivae:MultiVAE",
    "lightgcn": "ml.models.neural.lightgcn:LightGCN",
    "ncf": "ml.models.neural.ncf:NCF",
    "sasrec": "ml.models.neural.sasrec:SASRec",
    "bert4rec": "ml.models.neural.bert4rec:BERT4Rec",
    "fm": "ml.models.neural.fm:FactorizationMachine",
    "widedeep": "ml.models.neural.widedeep:WideDeep",
}

__all__ = ["MODELS"]
