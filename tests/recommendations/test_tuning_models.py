"""``recommendations.tuning``: unknown model names are refused by the settings service and the admin form."""
import json

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.urls import reverse

from ml.models.registry import available_models
from recommendations.models import RecommenderSettings
from recommendations.tuning import recommender_settings_get, recommender_settings_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_unknown_model_name_is_refused_naming_the_known_models():
    with pytest.raises(ValidationError) as error:
        recommender_settings_update(data={"training_models": [{"name": "ials"}, {"name": "alsx"}]})
    [message] = error.value.message_dict["training_models"]
    assert message == f"Unknown model name(s): 'alsx'. Known models: {', '.join(available_models())}."
    assert "ials" in available_models() and recommender_settings_get().training_models != [{"name": "ials"}, {"name": "alsx"}]


def test_a_model_listed_twice_is_refused_and_known_names_are_saved():
    with pytest.raises(ValidationError, match="Each model may be listed once; repeated: 'ials'"):
        recommender_settings_update(data={"training_models": [{"name": "ials"}, {"name": "ials", "factors": 8}]})
    saved = recommender_settings_update(data={"training_models": [{"name": "itemknn"}]})
    assert saved.training_models == [{"name": "itemknn"}]


def test_the_admin_form_refuses_an_unknown_model_name(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    settings = recommender_settings_get()
    before = RecommenderSettings.objects.get().training_models
    data = {key: json.dumps(value) if isinstance(value, (dict, list)) else value
            for key, value in model_to_dict(settings).items() if value is not None and not isinstance(value, bool)}
    data |= {key: "on" for key, value in model_to_dict(settings).items() if value is True}
    data["training_models"] = json.dumps([{"name": "alsx"}])
    response = client.post(reverse("admin:recommendations_recommendersettings_change", args=[settings.pk]), data)
    assert response.status_code == 200  # the form again, with the error
    assert "Unknown model name(s): &#x27;alsx&#x27;. Known models: " in response.content.decode()
    assert RecommenderSettings.objects.get().training_models == before
