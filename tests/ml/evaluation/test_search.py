"""Hyperparameter search (ml.evaluation.search): candidate grids, declared spaces, train-only tuning."""

from ml.evaluation import search as S


def test_candidates_defaults_first_then_grid_or_sample():
    space = {"a": [1, 2], "b": ["x", "y", "z"]}
    grid = S.candidates(space, n_trials=10)
    assert grid[0] == {} and len(grid) == 1 + 6 and {"a": 2, "b": "z"} in grid
    sample = S.candidates(space, n_trials=4, seed=1)
    assert sample[0] == {} and len(sample) == 4
    assert len({tuple(sorted(p.items())) for p in sample[1:]}) == 3  # distinct points
    assert all(p["a"] in (1, 2) and p["b"] in ("x", "y", "z") for p in sample[1:])
    assert S.candidates(space, n_trials=4, seed=1) == sample  # seeded
    assert S.candidates({}, n_trials=5) == [{}]


def test_declared_spaces_name_real_parameters():
    import inspect

    from ml.models.registry import available_models, get_model_class

    for name, space in S.SEARCH_SPACES.items():
        if name not in available_models():
            continue
        try:
            cls = get_model_class(name)
        except ImportError:  # optional dependency (torch) or a model still being written
            continue
        params = set(inspect.signature(cls.__init__).parameters)
        assert set(space) <= params, f"{name}: {set(space) - params}"


def test_search_sees_only_train(monkeypatch):
    from ml.split import random_split
    from ml.synthetic import planted_interactions

    data = planted_interactions(n_users=80, n_items=40, n_clusters=2, interactions_per_user=10, seed=0).to_interactions()
    train, test = random_split(data, test_size=0.25, seed=0)
    seen = []
    real = S.evaluate_model

    def spy(model, fit_part, valid_part, **kwargs):
        seen.append((fit_part, valid_part))
        return real(model, fit_part, valid_part, **kwargs)

    monkeypatch.setattr(S, "evaluate_model", spy)
    result = S.tune_and_evaluate("pop", train, test, k=5, n_trials=2, seed=0)
    assert len(seen) == 3  # two trials, then the refit on train scored on test
    assert seen[-1] == (train, test)
    train_keys, test_keys = set(train.pair_keys().tolist()), set(test.pair_keys().tolist())
    for fit_part, valid_part in seen[:-1]:
        valid_keys = set(valid_part.pair_keys().tolist())
        assert valid_keys and valid_keys <= train_keys and not valid_keys & test_keys
        assert set(fit_part.pair_keys().tolist()) | valid_keys == train_keys
    assert result["search"]["best_params"] in ({}, {"by": "weight"}, {"by": "users"})
    assert result["n_users"] > 0 and "ndcg@5" in result["metrics"]
