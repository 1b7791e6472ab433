"""``manage.py train``: trains in process and prints a summary."""
import pytest
from django.core.management import call_command

from recommendations.models import ModelVersion
from tests.recommendations.training.support import Status, planted_world_create, training_environment


@pytest.mark.django_db
def test_train_command_trains_and_prints_a_summary(settings, tmp_path, capsys):
    with training_environment(settings=settings, tmp_path=tmp_path):
        planted_world_create()
        call_command("train", "--model", "ials")
    out = capsys.readouterr().out
    version = ModelVersion.objects.get()
    assert version.status == Status.ACTIVE
    header = next(line for line in out.splitlines() if line.startswith("version"))
    assert "ndcg@10" in header
    assert any(line.split()[:3] == [str(version.pk), "ials", "active"] for line in out.splitlines())


@pytest.mark.django_db
def test_train_on_an_empty_database_is_one_line_nonzero_exit_and_records_nothing(settings, tmp_path, capsys, caplog):
    from django.core.management import CommandError

    with training_environment(settings=settings, tmp_path=tmp_path), pytest.raises(CommandError) as error:
        call_command("train")
    assert error.value.returncode == 1
    assert str(error.value).startswith("Nothing to train on: no events of signed-in users in the last")
    assert "\n" not in str(error.value) and "Traceback" not in capsys.readouterr().err + caplog.text
    assert not ModelVersion.objects.exists()
