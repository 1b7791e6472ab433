"""What SASRec and BERT4Rec share: they read sequence order."""

from __future__ import annotations

import numpy as np

from ml.models.neural.sasrec import SASRec


def test_sequence_models_read_order(small):
    sas = SASRec(hidden=16, max_len=10, epochs=2, batch_size=32, device="cpu").fit(small)
    items = small.item_map.external_ids[[1, 5, 9]].tolist()
    fwd = sas.sequence_vectors([items])
    rev = sas.sequence_vectors([items[::-1]])
    assert not np.allclose(fwd, rev)
    # known users are scored from their logged sequence: equals folding in that sequence
    log = small.log.positive()
    u = int(log.user_index[0])
    seq = small.item_map.to_external(log.item_index[log.user_index == u]).tolist()
    np.testing.assert_allclose(sas.sequence_vectors([seq])[0], sas.user_vectors([u])[0], rtol=1e-4, atol=1e-5)
    ids, _ = sas.recommend_for_items([seq[-3:]], 5)  # anonymous session
    assert ids.shape == (1, 5) and not np.isin(ids, seq[-3:]).any()
