"""Champion/challenger, forced activation and rollback."""
import pytest

from recommendations.models import ModelVersion
from recommendations.training import (
    model_version_activate,
    promotion_decision,
    serving_model_get,
)
from tests.recommendations.training.support import Status, train_now


@pytest.mark.django_db
def test_a_worse_challenger_stays_ready_and_an_admin_can_force_or_roll_back(planted, django_capture_on_commit_callbacks):
    [first] = train_now(django_capture_on_commit_callbacks)
    ModelVersion.objects.filter(pk=first.pk).update(metrics={**first.metrics, "ndcg@10": 0.999})

    [second] = train_now(django_capture_on_commit_callbacks)
    assert second.status == Status.READY and second.promotion_note.startswith("Not promoted: ndcg@10")
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == first.pk
    assert serving_model_get().version_id == first.pk

    [third] = train_now(django_capture_on_commit_callbacks, force=True)
    assert third.status == Status.ACTIVE and third.forced
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version_id=second.pk)  # roll back to a kept, never-active version
    assert ModelVersion.objects.get(status=Status.ACTIVE).pk == second.pk
    assert set(ModelVersion.objects.filter(pk__in=[first.pk, third.pk]).values_list("status", flat=True)) == {Status.RETIRED}
    assert serving_model_get().version_id == second.pk  # the stamp changed: picked up without a reset


def test_promotion_decision_uses_a_relative_margin_and_the_metric_direction():
    champion = ModelVersion(pk=7, metrics={"ndcg@10": 0.50, "rmse": 1.0})
    assert promotion_decision(metric="ndcg@10", margin=0.02, challenger={"ndcg@10": 0.491}, champion=champion, forced=False)[0]
    assert not promotion_decision(metric="ndcg@10", margin=0.02, challenger={"ndcg@10": 0.489}, champion=champion, forced=False)[0]
    assert not promotion_decision(metric="rmse", margin=0.02, challenger={"rmse": 1.03}, champion=champion, forced=False)[0]
    assert promotion_decision(metric="rmse", margin=0.02, challenger={"rmse": 0.9}, champion=champion, forced=False)[0]
    assert not promotion_decision(metric="ndcg@10", margin=0.02, challenger={}, champion=champion, forced=False)[0]
    assert promotion_decision(metric="ndcg@10", margin=0.02, challenger={}, champion=champion, forced=True)[0]
    assert promotion_decision(metric="ndcg@10", margin=0.02, challenger={"ndcg@10": 0.1}, champion=None, forced=False)[0]
