import numpy as np
import pytest

from ml.rerank import RerankConfig, effective_lambda, rerank, slot_plan


def concentrated_candidates(n_per_category: int = 10, n_categories: int = 5, seed: int = 0):
    """The most relevant candidates all come from category 0; other categories are slightly less relevant."""
    rng = np.random.default_rng(seed)
    categories = np.repeat(np.arange(n_categories), n_per_category)
    relevance = 1.0 - 0.1 * categories + 0.01 * rng.random(len(categories))
    return relevance, categories


def top_share(categories: np.ndarray) -> float:
    return np.bincount(categories).max() / len(categories)


def test_relevance_only_keeps_the_relevance_order():
    relevance, categories = concentrated_candidates()
    picks, _ = rerank(relevance, categories, RerankConfig(n=10, mmr_lambda=1.0))
    np.testing.assert_array_equal(picks, np.argsort(-relevance)[:10])


def test_mmr_lowers_same_category_concentration_as_diversity_rises():
    relevance, categories = concentrated_candidates()
    shares = []
    for level in (0.0, 0.5, 1.0):
        lam = effective_lambda(0.7, level)
        picks, _ = rerank(relevance, categories, RerankConfig(n=10, mmr_lambda=lam))
        shares.append(top_share(categories[picks]))
    assert shares[0] == 1.0  # no diversity: all ten from the most relevant category
    assert shares[0] > shares[1] > shares[2]
    # a lower admin lambda diversifies further at the same user level
    picks, _ = rerank(relevance, categories, RerankConfig(n=10, mmr_lambda=effective_lambda(0.3, 1.0)))
    assert top_share(categories[picks]) < shares[2]


def test_effective_lambda_is_monotone_and_neutral_at_half():
    assert effective_lambda(0.7, 0.5) == pytest.approx(0.7)
    assert effective_lambda(0.7, 0.0) == 1.0
    assert effective_lambda(0.7, 1.0) == pytest.approx(0.49)
    values = [effective_lambda(0.7, level) for level in np.linspace(0, 1, 11)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))
    assert effective_lambda(0.3, 0.5) < effective_lambda(0.9, 0.5)


def test_category_cap_holds_while_other_categories_remain():
    relevance, categories = concentrated_candidates()
    picks, _ = rerank(relevance, categories, RerankConfig(n=12, mmr_lambda=1.0, category_cap=3))
    assert np.bincount(categories[picks]).max() == 3
    assert len(picks) == 12


def test_category_cap_is_relaxed_only_when_nothing_else_is_left():
    relevance = np.array([0.9, 0.8, 0.7, 0.6])
    categories = np.array([1, 1, 1, 2])
    picks, _ = rerank(relevance, categories, RerankConfig(n=4, mmr_lambda=1.0, category_cap=1))
    assert picks.tolist()[:2] == [0, 3]  # the cap pushes category 2 up; then the page is filled
    assert len(picks) == 4


def test_embeddings_count_as_similarity():
    relevance = np.array([1.0, 0.99, 0.5])
    categories = np.array([0, 1, 2])
    embeddings = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    picks, _ = rerank(relevance, categories, RerankConfig(n=2, mmr_lambda=0.5), embeddings=embeddings)
    assert picks.tolist() == [0, 2]  # item 1 is a near-duplicate of item 0


def test_slot_plan_counts_and_interleaving():
    plan = slot_plan(20, [0.6, 0.2, 0.2])
    assert np.bincount(plan, minlength=3).tolist() == [12, 4, 4]
    explore_positions = np.flatnonzero(plan == 2)
    assert explore_positions.max() < 19 and np.diff(explore_positions).min() >= 3  # spread, not bunched at the end
    assert np.bincount(slot_plan(7, [0.5, 0.5, 0.0]), minlength=3)[2] == 0
    with pytest.raises(ValueError):
        slot_plan(5, [0.0, 0.0])


def test_groups_get_their_slots_and_fall_back_when_empty():
    relevance = np.linspace(1.0, 0.5, 30)
    categories = np.arange(30)
    groups = np.array([0] * 20 + [1] * 5 + [2] * 5)
    picks, pick_groups = rerank(relevance, categories, RerankConfig(n=10, shares=(0.6, 0.2, 0.2)), groups=groups)
    assert np.bincount(pick_groups, minlength=3).tolist() == [6, 2, 2]
    assert (groups[picks] == pick_groups).all()
    # no group-1 candidates at all: their slots go to group 0 (fallback), never to the zero-share group 2
    groups = np.array([0] * 25 + [2] * 5)
    _, pick_groups = rerank(relevance, categories, RerankConfig(n=10, shares=(0.8, 0.2, 0.0), fallback=(0, 1)), groups=groups)
    assert pick_groups.tolist() == [0] * 10


def test_inputs_are_validated_and_small_inputs_work():
    assert rerank(np.array([]), np.array([], dtype=int), RerankConfig(n=5))[0].size == 0
    with pytest.raises(ValueError):
        rerank(np.array([1.0, 2.0]), np.array([1]), RerankConfig(n=1))
    with pytest.raises(ValueError):
        rerank(np.array([1.0]), np.array([1]), RerankConfig(n=1), groups=np.array([3]))
    picks, _ = rerank(np.array([0.5, 0.5]), np.array([1, 1]), RerankConfig(n=5))
    assert sorted(picks.tolist()) == [0, 1]


def test_membership_lets_a_candidate_fill_a_slot_of_any_of_its_groups():
    relevance = np.array([1.0, 0.9, 0.8, 0.1])
    categories = np.arange(4)
    membership = np.array([[1, 0], [1, 1], [1, 0], [0, 1]], dtype=bool)  # candidate 1 is personal and exploratory
    picks, pick_groups = rerank(relevance, categories, RerankConfig(n=2, shares=(0.5, 0.5)), groups=membership)
    assert picks.tolist() == [0, 1] and pick_groups.tolist() == [0, 1]  # 1 fills the exploration slot (better than 3)
    with pytest.raises(ValueError):
        rerank(relevance, categories, RerankConfig(n=2, shares=(0.5, 0.5)), groups=membership[:, :1])


def test_each_group_can_rank_its_slots_by_its_own_relevance():
    relevance = np.array([[1.0, 0.0], [0.5, 0.2], [0.1, 1.0], [0.0, 0.9]])  # column 1: the exploration score
    membership = np.array([[1, 0], [1, 1], [0, 1], [0, 1]], dtype=bool)
    picks, groups = rerank(relevance, np.arange(4), RerankConfig(n=4, shares=(0.5, 0.5)), groups=membership)
    assert picks.tolist() == [0, 2, 1, 3] and groups.tolist() == [0, 1, 0, 1]
    with pytest.raises(ValueError):
        rerank(relevance[:, :1].repeat(3, axis=1), np.arange(4), RerankConfig(n=2, shares=(0.5, 0.5)))
