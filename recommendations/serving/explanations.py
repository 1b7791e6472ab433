"""Stage 4: explanations, derived from the evidence of the source that actually produced each item.

The structured reason is what the pipeline knows, not a story told afterwards: ``because_you_interacted``
cites the recent item whose removal lowers the item's score most (fold-in) or whose similarity term is the
largest (neighbours); ``trending_in_category`` and ``exploring_category`` name the category whose list the
item came from; ``similar_users`` is the collaborative model's vector for the user. Tests check faithfulness:
removing the cited evidence removes the recommendation (or at least changes it). Only the actor's positive
evidence is cited, with the verb of its strongest event (``ActorHistory.interaction_types``; ratings count by
value, short dwell not at all: ``ml.dataset.semantics``).
"""
from __future__ import annotations

from dataclasses import dataclass

from recommendations.serving.actors import INTERACTION_VERBS
from recommendations.serving.candidates import SOURCE_INDEX, CandidateTable

EXPLANATION_TYPES = (
    "because_you_interacted",
    "similar_users",
    "trending_in_category",
    "new_arrival",
    "exploring_category",
    "popular",
    "catalog",
    "similar_item",
    "similar_content",
)


@dataclass(frozen=True)
class Reason:
    type: str
    item: int | None = None  # the cited item (because_you_interacted, new_arrival, similar_*)
    category: int | None = None  # the cited category (trending_in_category, exploring_category, new_arrival)


def reason_for(*, table: CandidateTable, row: int, source: int) -> Reason:
    """The reason for candidate ``row`` produced by ``source`` (an index into SOURCES)."""
    evidence = int(table.evidence_items[row, source])
    category = int(table.category_ids[row])
    if source == SOURCE_INDEX["ann"]:
        return Reason("similar_users")
    # Only positive evidence is cited (interaction_types holds the actor's positive items with their strongest
    # event type): an item rated below neutral, skipped or merely glanced at is never "because you ...".
    cited = evidence if evidence >= 0 and evidence in table.interaction_types else -1
    if source in (SOURCE_INDEX["foldin"], SOURCE_INDEX["neighbours"]):
        return Reason("because_you_interacted", item=cited) if cited >= 0 else Reason("similar_users")
    if source == SOURCE_INDEX["trending"]:
        return Reason("trending_in_category", category=category)
    if source == SOURCE_INDEX["new_arrival"]:
        return Reason("new_arrival", item=cited if cited >= 0 else None, category=category)
    if source == SOURCE_INDEX["explore"]:
        return Reason("exploring_category", category=category)
    if source == SOURCE_INDEX["catalog"]:
        return Reason("catalog")
    return Reason("popular")


def reason_render(
    reason: Reason, *, titles: dict[int, str], category_names: dict[int, str], interaction_types: dict[int, str]
) -> dict:
    """The JSON explanation: ``{type, text, item, item_title, category, category_name}`` (all keys always present)."""
    item_title = titles.get(reason.item) if reason.item is not None else None
    category_name = category_names.get(reason.category) if reason.category is not None else None
    quoted = f"“{item_title}”" if item_title else "an item you looked at"
    if reason.type == "because_you_interacted":
        verb = INTERACTION_VERBS.get(interaction_types.get(reason.item, ""), "looked at")
        text = f"Because you {verb} {quoted}"
    elif reason.type == "similar_users":
        text = "Shoppers with tastes like yours liked this"
    elif reason.type == "trending_in_category":
        text = f"Trending in {category_name or 'a category you like'}"
    elif reason.type == "new_arrival":
        text = f"New arrival, similar to {quoted}" if item_title else f"New arrival in {category_name or 'the shop'}"
    elif reason.type == "exploring_category":
        text = f"Something different: explore {category_name or 'a new category'}"
    elif reason.type == "catalog":
        text = "More from the shop"  # newest items of a shop without popularity, or the rest of the catalogue
    elif reason.type == "similar_item":
        text = f"Shoppers who liked {quoted} also liked this"
    elif reason.type == "similar_content":
        text = f"Similar to {quoted}"
    else:
        text = "Popular right now"
    return {
        "type": reason.type,
        "text": text,
        "item": reason.item,
        "item_title": item_title,
        "category": reason.category,
        "category_name": category_name,
    }
