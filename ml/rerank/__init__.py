"""Re-ranking of a scored candidate list: MMR diversity, per-category caps and slot quotas (pure numpy).

Hand-written because no maintained library combines MMR with category caps and slot quotas over numpy arrays.

    from ml.rerank import RerankConfig, rerank, slot_plan, effective_lambda

:func:`rerank` greedily fills ``n`` positions. Each position belongs to a group given by :func:`slot_plan`
(e.g. personal / popular / exploration slots mixed smoothly, as in a TikTok-style feed); within the group the
candidate with the best MMR value (Carbonell & Goldstein 1998) is taken::

    mmr(i) = lambda * relevance(i) - (1 - lambda) * mean_{j already picked} sim(i, j)

``relevance`` is min-max scaled to [0, 1] so that ``lambda`` trades off two comparable quantities; ``sim`` is 1
for two items of the same category and, when embeddings are given, at least the cosine of their vectors.
The mean (rather than the original max) keeps working after every category has been picked once: with
category similarity the penalty is the category's share of the page so far, so the page's category mix
keeps flattening as lambda falls instead of reverting to pure relevance.
A category that already holds ``category_cap`` picks is skipped while any other candidate is left.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ml.utils.arrays import minmax_scale, unit_rows

__all__ = ["RerankConfig", "effective_lambda", "slot_plan", "rerank"]


def effective_lambda(admin_lambda: float, diversity_level: float, *, neutral_level: float = 0.5) -> float:
    """Combine the admin's MMR lambda with a user's diversity level in [0, 1].

    ``lambda ** (level / neutral)``: the neutral level keeps the admin value, 0 turns diversity off (lambda 1),
    1 squares lambda (more diversity). Monotone in both arguments.
    """
    admin_lambda = float(np.clip(admin_lambda, 0.0, 1.0))
    level = float(np.clip(diversity_level, 0.0, 1.0))
    if admin_lambda == 0.0:
        return 0.0 if level > 0 else 1.0
    return float(admin_lambda ** (level / neutral_level))


def slot_plan(n: int, shares: Sequence[float]) -> np.ndarray:
    """Group of each of ``n`` positions so that group ``g`` gets ``round(n * shares[g])`` slots, interleaved.

    Counts use largest remainders (they sum to ``n``); positions come from smooth weighted round-robin, so a
    20% group lands on every fifth slot rather than at the end. Deterministic.
    """
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(_slot_plan(int(n), tuple(float(share) for share in shares)), dtype=np.int64)


@lru_cache(maxsize=1024)  # every feed page asks for the same few plans
def _slot_plan(n: int, shares_in: tuple[float, ...]) -> tuple[int, ...]:
    shares = np.clip(np.asarray(shares_in, dtype=np.float64), 0.0, None)
    if shares.sum() <= 0:
        raise ValueError("At least one share must be positive.")
    shares = shares / shares.sum()
    exact = shares * n
    counts = np.floor(exact).astype(np.int64)
    remainder = n - counts.sum()
    if remainder:
        order = np.lexsort((np.arange(len(shares)), -(exact - counts)))
        counts[order[:remainder]] += 1
    # Plain Python: a handful of groups and ~20 positions, where numpy's per-call overhead would dominate.
    counts_list = [int(c) for c in counts]
    current = [0.0] * len(counts_list)
    left = list(counts_list)
    plan = []
    for _ in range(n):
        best, best_value = -1, -np.inf
        for group, count in enumerate(counts_list):
            current[group] += count
            if left[group] > 0 and current[group] > best_value:
                best, best_value = group, current[group]
        plan.append(best)
        current[best] -= n
        left[best] -= 1
    return tuple(plan)


@dataclass(frozen=True)
class RerankConfig:
    n: int
    mmr_lambda: float = 1.0  # 1: relevance only; 0: diversity only
    category_cap: int | None = None  # most picks of one category (None: no cap)
    shares: tuple[float, ...] = (1.0,)  # slot share per group
    fallback: tuple[int, ...] | None = None  # groups tried, in order, when a slot's group has nothing left


def _checked_inputs(
    relevance: np.ndarray, categories: np.ndarray, groups: np.ndarray | None, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(relevance (m, n_groups) float64, categories (m,) int64, membership (m, n_groups) bool)``; raises ``ValueError``."""
    relevance = np.asarray(relevance, dtype=np.float64)
    categories = np.asarray(categories, dtype=np.int64)
    m = len(relevance)
    if relevance.ndim == 1:
        relevance = np.repeat(relevance[:, None], n_groups, axis=1)
    if relevance.shape != (m, n_groups):
        raise ValueError(f"relevance must have shape ({m},) or ({m}, {n_groups})")
    if categories.shape != (m,):
        raise ValueError("categories must have one entry per candidate")
    groups = np.zeros(m, dtype=np.int64) if groups is None else np.asarray(groups)
    if groups.ndim == 2:
        if groups.shape != (m, n_groups):
            raise ValueError(f"a membership matrix must have shape ({m}, {n_groups})")
        return relevance, categories, groups.astype(bool)
    if groups.shape != (m,):
        raise ValueError("groups must have one entry per candidate")
    groups = groups.astype(np.int64)
    if m and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"groups must be in [0, {n_groups})")
    membership = np.zeros((m, n_groups), dtype=bool)
    membership[np.arange(m), groups] = True
    return relevance, categories, membership


def _best_pick(
    base: list[np.ndarray], penalty: np.ndarray, order_of_groups: list[int], capped: np.ndarray | None
) -> tuple[int, int]:
    """``(candidate, group)`` of the next pick, ``(-1, -1)`` when no group has a candidate left.

    With ``capped`` (candidates whose category is full), the cap is respected in every group first
    (a group with nothing uncapped left passes to the next), then relaxed.
    """
    for relax in ((False, True) if capped is not None else (True,)):
        for group in order_of_groups:
            value = base[group] - penalty
            if not relax:
                value[capped] = -np.inf
            best = int(np.argmax(value))
            if value[best] != -np.inf:
                return best, group
    return -1, -1


def rerank(
    relevance: np.ndarray,
    categories: np.ndarray,
    config: RerankConfig,
    *,
    groups: np.ndarray | None = None,
    embeddings: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick up to ``config.n`` candidates. Returns ``(indices into the inputs, group of the slot each pick filled)``.

    ``relevance``: higher is better (any scale), one value per candidate, or ``(n_candidates, n_groups)``: the
    relevance of a candidate when it fills a slot of each group (e.g. exploration slots ranked by their own
    score); ``categories``: int category per candidate; ``groups``: the group of each candidate (ints matching
    ``config.shares``, default all 0), or a boolean ``(n_candidates, n_groups)`` membership matrix for
    candidates that may fill slots of several groups; ``embeddings``: optional ``(n_candidates, d)``.
    """
    n_groups = len(config.shares)
    relevance, categories, membership = _checked_inputs(relevance, categories, groups, n_groups)
    m = len(relevance)
    n = min(int(config.n), m)
    if n <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lam = float(np.clip(config.mmr_lambda, 0.0, 1.0))
    # Work in descending (first-group) relevance order: argmax then breaks ties by it, then by input position.
    order = np.lexsort((np.arange(m), -relevance[:, 0]))
    rel = np.column_stack([minmax_scale(relevance[:, g]) for g in range(n_groups)])[order]
    membership = membership[order]
    _, category_code = np.unique(categories[order], return_inverse=True)
    unit = None
    if embeddings is not None:
        unit = unit_rows(np.asarray(embeddings, dtype=np.float32)[order])
    fallback = list(config.fallback) if config.fallback is not None else list(np.argsort(-np.asarray(config.shares), kind="stable"))
    plan = slot_plan(n, config.shares).tolist()
    group_orders = {group: [group] + [g for g in fallback if g != group] for group in range(n_groups)}
    # lam * relevance per group, -inf where the candidate is not a member; a pick is set to -inf in every group.
    # One subtraction and one argmax per tried group and position (the loop is the hot path of every feed page).
    base = [np.where(membership[:, group], lam * rel[:, group], -np.inf) for group in range(n_groups)]
    sum_sim = np.zeros(m)  # summed similarity of each candidate to the picks so far
    category_count = np.zeros(int(category_code.max()) + 1, dtype=np.int64)
    cap = config.category_cap if config.category_cap and config.category_cap > 0 else None
    capped = np.zeros(m, dtype=bool)  # candidates whose category is full
    any_capped = False
    picks: list[int] = []
    pick_groups: list[int] = []
    for position in range(n):
        penalty = sum_sim * ((1.0 - lam) / max(len(picks), 1))
        choice, filled_group = _best_pick(base, penalty, group_orders[plan[position]], capped if any_capped else None)
        if choice < 0:
            break
        picks.append(choice)
        pick_groups.append(filled_group)
        for group_base in base:
            group_base[choice] = -np.inf
        code = category_code[choice]
        category_count[code] += 1
        same_category = category_code == code
        if cap is not None and category_count[code] >= cap:
            capped |= same_category
            any_capped = True
        if unit is not None:
            cosine = unit @ unit[choice]
            np.minimum(cosine, 1.0, out=cosine)  # clip to [0, 1] with two ufuncs (np.clip's wrapper costs more here)
            np.maximum(cosine, same_category, out=cosine)
            sum_sim += cosine
        else:
            sum_sim += same_category
    return order[np.asarray(picks, dtype=np.int64)], np.asarray(pick_groups, dtype=np.int64)
