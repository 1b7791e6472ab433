import numpy as np
import pytest

from ml.dataset import IdMap, Interactions, ItemFeatures
from ml.models.content import ContentRecommender


@pytest.fixture
def data() -> Interactions:
    feats = ItemFeatures(
        text=["red running shoe", "blue running shoe", "green tea", "black tea", "trail running shoe"],
        category=[1, 1, 2, 2, 1],
        tags=[["sport"], ["sport"], ["drink"], ["drink"], ["sport", "outdoor"]],
        item_ids=np.array([1, 2, 3, 4, 5]),
    )
    # item 5 is in the catalogue but nobody interacted with it yet
    return Interactions.from_events(
        user_ids=[10, 10, 11], item_ids=[1, 2, 3], item_map=IdMap.from_values([1, 2, 3, 4, 5]), item_features=feats
    )


def test_new_item_without_interactions_is_recommended(data):
    model = ContentRecommender().fit(data)
    ids, scores = model.recommend([10, 11], k=2)
    assert ids[0, 0] == 5  # the unseen running shoe for the shoe buyer
    assert ids[1, 0] == 4  # tea for the tea drinker
    sim, _ = model.similar_items([1], k=1)
    assert sim[0, 0] in (2, 5)


def test_profile_is_weighted_mean_and_transform_items(data):
    model = ContentRecommender().fit(data)
    V = model.item_vectors_.toarray()
    profile = V[0] + V[1]
    profile /= np.linalg.norm(profile)
    np.testing.assert_allclose(model.score_indices([0])[0], V @ profile, rtol=1e-5)
    again = model.transform_items(data.item_features)
    np.testing.assert_allclose(again.toarray(), V, rtol=1e-5, atol=1e-7)


def test_needs_features():
    with pytest.raises(ValueError, match="item_features"):
        ContentRecommender().fit(Interactions.from_matrix(np.ones((2, 2))))
