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
sasrec      SASRec (Kang & McAuley 2018)              :mod:`.sequential`
bert4rec    BERT4Rec (Sun et al. 2019)                :mod:`.sequential`
fm          Factorization Machine (Rendle 2010)       :mod:`.ranking`
widedeep    Wide & Deep (Cheng et al. 2016)           :mod:`.ranking`
=========== ========================================= ==========================

Shared machinery (device, seeding, early stopping, artifacts) is in :mod:`.common`.
"""

MODELS: dict[str, str] = {
    "multivae": "ml.models.neural.multivae:MultiVAE",
    "lightgcn": "ml.models.neural.lightgcn:LightGCN",
    "ncf": "ml.models.neural.ncf:NCF",
    "sasrec": "ml.models.neural.sequential:SASRec",
    "bert4rec": "ml.models.neural.sequential:BERT4Rec",
    "fm": "ml.models.neural.ranking:FactorizationMachine",
    "widedeep": "ml.models.neural.ranking:WideDeep",
}

__all__ = ["MODELS"]
