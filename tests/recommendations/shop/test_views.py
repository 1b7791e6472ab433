"""The recommendation pages through Django's test client: feed on the home page, onboarding, preferences,
reactions and "not interested", swipe mode, wellbeing, item page sections and the staff links."""
import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from recommendations.models import Event, EventType, RecommenderSettings
from recommendations.serving.actors import SESSION_PREFERENCES_KEY
from recommendations.serving.popularity import items_also_bought
from recommendations.shop.selectors import user_needs_onboarding
from recommendations.shop.wellbeing import SESSION_WELLBEING_KEY, wellbeing_activity, wellbeing_dismiss
from recommendations.tuning import recommender_settings_update
from tests.factories import CategoryFactory, EventFactory, ItemFactory, UserFactory
from users.models import Preferences
from users.selectors import preferences_get

pytestmark = pytest.mark.django_db


def feed_ids(response) -> list[int]:
    html = response.content.decode()
    start = html.find('id="for-you"')
    if start < 0:
        return []
    return [int(pk) for pk in re.findall(r'<article class="card feed-card" data-item-id="(\d+)"', html[start:])]


@pytest.fixture
def shop():
    """Electronics (Phones, Audio), Books and Garden, 6 items each, with some popularity from other shoppers."""
    electronics = CategoryFactory(name="Electronics", slug="electronics")
    categories = {
        "electronics": electronics,
        "phones": CategoryFactory(name="Phones", slug="phones", parent=electronics),
        "audio": CategoryFactory(name="Audio", slug="audio", parent=electronics),
        "books": CategoryFactory(name="Books", slug="books"),
        "garden": CategoryFactory(name="Garden", slug="garden"),
    }
    items = {slug: ItemFactory.create_batch(6, category=category, title=factory_title(slug)) for slug, category in categories.items() if slug != "electronics"}
    other = UserFactory()
    for batch in items.values():
        for item in batch[:3]:
            EventFactory(user=other, item=item, event_type=EventType.CLICK)
    return {"categories": categories, "items": items}


def factory_title(slug: str):
    import factory

    return factory.Sequence(lambda n: f"{slug.title()} thing {n}")


@pytest.fixture
def member(client):
    user = UserFactory(username="ada")
    Preferences.objects.create(user=user)
    client.force_login(user)
    return user


# ---- feed on the home page ---------------------------------------------------------------------------------
class TestFeed:
    def test_signed_in_home_shows_for_you_cards_with_reasons_and_a_cursor(self, client, member, shop):
        response = client.get(reverse("home"))
        html = response.content.decode()
        assert response.status_code == 200
        ids = feed_ids(response)
        assert 1 <= len(ids) <= 12 and len(ids) == len(set(ids))
        assert re.search(r'data-next-cursor="[^"]+"', html)
        assert 'class="why-text"' in html and "Why this?" in html
        assert '<meta name="csrf-token"' in html and "js/feed.js" in html and "js/events.js" in html
        assert 'id="popular-now"' not in html  # the feed replaces the anonymous landing page

    def test_anonymous_home_has_no_feed(self, client, shop):
        html = client.get(reverse("home")).content.decode()
        assert 'id="for-you"' not in html and 'id="popular-now"' in html

    def test_new_user_is_invited_to_onboarding_until_they_tell_us_something(self, client, member, shop):
        assert "Tell us what you like" in client.get(reverse("home")).content.decode()
        EventFactory(user=member, item=shop["items"]["books"][0], event_type=EventType.LIKE)
        assert not user_needs_onboarding(user_id=member.pk)
        assert "Tell us what you like" not in client.get(reverse("home")).content.decode()

    def test_nothing_allowed_shows_a_helpful_empty_state(self, client, member, shop):
        preferences = preferences_get(user=member)
        preferences.excluded_categories.set(list(shop["categories"].values()))
        response = client.get(reverse("home"))
        assert feed_ids(response) == []
        assert "Nothing to show with your current settings" in response.content.decode()

    def test_menu_links_for_signed_in_users_and_staff(self, client, member, shop):
        html = client.get(reverse("home")).content.decode()
        assert 'href="/swipe/"' in html and 'href="/preferences/"' in html and 'href="/accounts/data/"' in html
        assert "Model versions" not in html
        member.is_staff = True
        member.save()
        html = client.get(reverse("home")).content.decode()
        assert reverse("admin:recommendations_recommendersettings_changelist") in html
        assert reverse("admin:recommendations_modelversion_changelist") in html
        assert reverse("admin:recommendations_recommendersettings_preview") in html


# ---- onboarding -------------------------------------------------------------------------------------------
class TestOnboarding:
    def test_signup_leads_to_onboarding(self, client, shop):
        data = {"username": "grace", "email": "", "password1": "Corr3ct-Horse!", "password2": "Corr3ct-Horse!"}
        response = client.post(reverse("signup"), data)
        assert response.status_code == 302 and response["Location"] == reverse("onboarding")

    def test_pages_need_login(self, client, db):
        for name in ("onboarding", "onboarding-items", "preferences"):
            response = client.get(reverse(name))
            assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    def test_step_one_lists_top_level_categories_and_needs_a_choice(self, client, member, shop):
        response = client.get(reverse("onboarding"))
        html = response.content.decode()
        assert response.status_code == 200
        assert f'value="{shop["categories"]["books"].pk}"' in html and "Phones" not in html
        response = client.post(reverse("onboarding"), {})
        assert response.status_code == 200 and "Pick at least one category" in response.content.decode()

    def test_step_one_passes_the_choice_to_step_two(self, client, member, shop):
        books, garden = shop["categories"]["books"], shop["categories"]["garden"]
        response = client.post(reverse("onboarding"), {"categories": [books.pk, garden.pk]})
        assert response.status_code == 302
        step_two = client.get(response["Location"])
        html = step_two.content.decode()
        shown = {int(pk) for pk in re.findall(r'name="items" value="(\d+)"', html)}
        allowed = {item.pk for item in shop["items"]["books"] + shop["items"]["garden"]}
        assert shown and shown <= allowed
        assert {item.category_id for item in step_two.context["choices"]} == {books.pk, garden.pk}  # both represented

    def test_finishing_records_likes_and_favourite_weights_and_the_first_feed_follows(self, client, member, shop):
        electronics = shop["categories"]["electronics"]
        picked = [shop["items"]["phones"][4], shop["items"]["audio"][5]]
        response = client.post(reverse("onboarding-items"), {"categories": [electronics.pk], "items": [i.pk for i in picked]})
        assert response.status_code == 302 and response["Location"] == reverse("home")
        likes = Event.objects.filter(user=member, event_type=EventType.LIKE)
        assert sorted(likes.values_list("item_id", flat=True)) == sorted(i.pk for i in picked)
        weights = preferences_get(user=member).category_weights
        assert {int(k) for k in weights} == {electronics.pk, shop["categories"]["phones"].pk, shop["categories"]["audio"].pk}
        # Submitting again records nothing twice (client ids derived from user + item).
        client.post(reverse("onboarding-items"), {"categories": [electronics.pk], "items": [i.pk for i in picked]})
        assert likes.count() == 2

        feed = client.get(reverse("home"))
        electronics_ids = {i.pk for i in shop["items"]["phones"] + shop["items"]["audio"]}
        ids = feed_ids(feed)
        assert ids and sum(pk in electronics_ids for pk in ids) > len(ids) / 2
        assert "Tell us what you like" not in feed.content.decode()


# ---- preferences -------------------------------------------------------------------------------------------
class TestPreferencesPage:
    def form_data(self, shop, **overrides):
        data = {"diversity_level": "0.5", "exploration_level": "0.2"}
        for slug in ("electronics", "books", "garden"):
            data[f"weight_{shop['categories'][slug].pk}"] = "1"
        data.update(overrides)
        return data

    def test_renders_every_control(self, client, member, shop):
        html = client.get(reverse("preferences")).content.decode()
        for slug in ("electronics", "books", "garden"):
            assert f'name="weight_{shop["categories"][slug].pk}"' in html
        assert f'name="excluded" value="{shop["categories"]["phones"].pk}"' in html
        assert 'name="diversity_level"' in html and 'name="exploration_level"' in html and 'name="pause_personalization"' in html
        assert "Reset my history" in html and "Nothing hidden" in html

    def test_saving_expands_parents_and_applies_to_the_next_feed(self, client, member, shop):
        categories = shop["categories"]
        data = self.form_data(shop, **{
            f"weight_{categories['books'].pk}": "2", f"weight_{categories['garden'].pk}": "0.5",
            "excluded": [str(categories["electronics"].pk)], "diversity_level": "0.8", "exploration_level": "0",
            "pause_personalization": "on",
        })
        response = client.post(reverse("preferences"), data)
        assert response.status_code == 302
        preferences = preferences_get(user=member)
        assert set(preferences.excluded_category_ids) == {categories[s].pk for s in ("electronics", "phones", "audio")}
        assert preferences.category_weights == {str(categories["books"].pk): 2.0, str(categories["garden"].pk): 0.5}
        assert preferences.diversity_level == 0.8 and preferences.exploration_level == 0.0
        assert preferences.personalization_enabled is False
        electronics_ids = {i.pk for i in shop["items"]["phones"] + shop["items"]["audio"]}
        ids = feed_ids(client.get(reverse("home")))
        assert ids and not electronics_ids & set(ids)

    def test_invalid_values_are_refused(self, client, member, shop):
        response = client.post(reverse("preferences"), self.form_data(shop, diversity_level="7"))
        assert response.status_code == 200 and "Please correct the errors below." in response.content.decode()
        assert preferences_get(user=member).diversity_level == 0.5

    def test_hidden_items_are_listed_with_undo(self, client, member, shop):
        item = shop["items"]["books"][0]
        client.post(reverse("not-interested"), {"item": item.pk, "scope": "item"})
        html = client.get(reverse("preferences")).content.decode()
        assert item.title in html and reverse("not-interested-undo", args=[item.pk]) in html
        response = client.post(reverse("not-interested-undo", args=[item.pk]))
        assert response.status_code == 302 and response["Location"] == reverse("preferences")
        assert preferences_get(user=member).hidden_item_ids == []


# ---- reactions and "not interested" -------------------------------------------------------------------------
class TestReactions:
    def test_like_records_an_event_once_per_client_id(self, client, member, shop):
        item = shop["items"]["garden"][0]
        data = {"item": item.pk, "reaction": "like", "client_event_id": "like-1", "request_id": "r1"}
        response = client.post(reverse("react"), data, HTTP_ACCEPT="application/json")
        assert response.status_code == 200 and response.json()["recorded"] is True
        assert client.post(reverse("react"), data, HTTP_ACCEPT="application/json").json()["recorded"] is False
        event = Event.objects.get(user=member, item=item)
        assert event.event_type == EventType.LIKE and event.context["request_id"] == "r1"

    def test_without_javascript_it_redirects_back(self, client, member, shop):
        item = shop["items"]["garden"][0]
        response = client.post(reverse("react"), {"item": item.pk, "reaction": "like", "next": "/c/garden/"})
        assert response.status_code == 302 and response["Location"] == "/c/garden/"
        response = client.post(reverse("react"), {"item": item.pk, "reaction": "like", "next": "https://evil.example/"})
        assert response["Location"] == item.get_absolute_url()

    def test_bad_input(self, client, member, shop):
        item = shop["items"]["garden"][0]
        assert client.post(reverse("react"), {"item": 999999, "reaction": "like"}).status_code == 404
        response = client.post(reverse("react"), {"item": item.pk, "reaction": "love"}, HTTP_ACCEPT="application/json")
        assert response.status_code == 400
        assert client.get(reverse("react")).status_code == 405

    def test_not_interested_hides_the_item_from_later_feeds(self, client, member, shop):
        first = feed_ids(client.get(reverse("home")))
        target = first[0]
        response = client.post(reverse("not-interested"), {"item": target, "scope": "item"}, HTTP_ACCEPT="application/json")
        assert response.status_code == 200 and target in response.json()["hidden_items"]
        for _ in range(2):
            assert target not in feed_ids(client.get(reverse("home")))
        assert Event.objects.filter(user=member, item_id=target, event_type=EventType.SKIP).exists()

    def test_not_interested_in_a_category(self, client, member, shop):
        item = shop["items"]["books"][0]
        response = client.post(reverse("not-interested"), {"item": item.pk, "scope": "category"})
        assert response.status_code == 302
        assert preferences_get(user=member).excluded_category_ids == [item.category_id]
        books = {i.pk for i in shop["items"]["books"]}
        assert not books & set(feed_ids(client.get(reverse("home"))))

    def test_anonymous_not_interested_lives_in_the_session_and_can_be_undone(self, client, shop):
        item = shop["items"]["books"][0]
        client.post(reverse("not-interested"), {"item": item.pk})
        assert client.session[SESSION_PREFERENCES_KEY]["hidden_items"] == [item.pk]
        response = client.post(reverse("not-interested-undo", args=[item.pk]), HTTP_ACCEPT="application/json")
        assert response.json() == {"item": item.pk, "hidden": False}
        assert client.session[SESSION_PREFERENCES_KEY]["hidden_items"] == []


# ---- swipe --------------------------------------------------------------------------------------------------
class TestSwipe:
    def test_page_shows_one_card_with_its_reason_and_plain_forms(self, client, member, shop):
        response = client.get(reverse("swipe"))
        html = response.content.decode()
        assert response.status_code == 200
        assert html.count('class="swipe-card"') == 1 and "Why this?" in html
        cards = json.loads(re.search(r'<script id="swipe-cards" type="application/json">(.*?)</script>', html, re.S).group(1))
        assert len(cards) == 1 and {"id", "title", "url", "price", "explanation", "request_id"} <= set(cards[0])
        assert html.count(f'action="{reverse("swipe-decide")}"') == 2

    def test_anonymous_visitors_can_swipe(self, client, shop):
        assert client.get(reverse("swipe")).status_code == 200
        card = client.get(reverse("swipe")).context["cards"][0]
        response = client.post(reverse("swipe-decide"), {"item": card["id"], "decision": "like"}, HTTP_ACCEPT="application/json")
        assert response.status_code == 200
        assert Event.objects.filter(user__isnull=True, session_key=client.session.session_key, event_type=EventType.LIKE).count() == 1

    def test_a_decision_is_recorded_and_the_next_cards_never_repeat_it(self, client, member, shop):
        card = client.get(reverse("swipe")).context["cards"][0]
        response = client.post(
            reverse("swipe-decide"), {"item": card["id"], "decision": "skip", "client_event_id": "swipe-abc"}, HTTP_ACCEPT="application/json"
        )
        data = response.json()
        assert response.status_code == 200 and data["cards"]
        assert card["id"] not in [c["id"] for c in data["cards"]]
        event = Event.objects.get(client_event_id="swipe-abc")
        assert event.user == member and event.event_type == EventType.SKIP and event.context["surface"] == "swipe"

    def test_likes_shape_the_next_cards_and_the_cursor_prevents_repeats(self, client, member, shop):
        """Liking garden items pulls garden items into the next card (real time, no retraining)."""
        garden = shop["items"]["garden"]
        first = client.get(reverse("swipe")).context["page"]
        cursor, shown = first.next_cursor, [entry.item.pk for entry in first.items]
        for item in garden[:2]:
            data = client.post(
                reverse("swipe-decide"), {"item": item.pk, "decision": "like", "cursor": cursor}, HTTP_ACCEPT="application/json"
            ).json()
            cursor = data["next_cursor"]
            shown += [card["id"] for card in data["cards"]]
        assert len(data["cards"]) == 1 and data["cards"][0]["category"]["id"] == garden[0].category_id
        assert data["cards"][0]["explanation"]["type"] in ("because_you_interacted", "new_arrival", "trending_in_category")
        assert len(shown) == len(set(shown))  # one feed session: never the same card twice

    def test_without_javascript_and_bad_input(self, client, member, shop):
        item = shop["items"]["garden"][0]
        response = client.post(reverse("swipe-decide"), {"item": item.pk, "decision": "like"})
        assert response.status_code == 302 and response["Location"] == reverse("swipe")
        response = client.post(reverse("swipe-decide"), {"item": item.pk, "decision": "skip", "cursor": "abc"})
        assert response["Location"] == reverse("swipe") + "?cursor=abc"
        assert client.get(response["Location"]).status_code == 200  # a bad cursor starts a new feed session
        assert client.post(reverse("swipe-decide"), {"item": item.pk, "decision": "maybe"}, HTTP_ACCEPT="application/json").status_code == 400
        assert client.post(reverse("swipe-decide"), {"item": "x", "decision": "like"}).status_code == 404


# ---- wellbeing ----------------------------------------------------------------------------------------------
class TestWellbeing:
    def test_a_continuous_stretch_shows_the_notice_and_a_pause_restarts_it(self, client, db):
        session = client.session
        now = timezone.now()
        settings = RecommenderSettings(wellbeing_enabled=True, wellbeing_session_minutes=30)
        assert not wellbeing_activity(session=session, now=now, settings=settings).show
        for minutes in range(5, 31, 5):  # activity every 5 minutes: one stretch
            status = wellbeing_activity(session=session, now=now + dt.timedelta(minutes=minutes), settings=settings)
        assert status.show and status.minutes == 30
        later = now + dt.timedelta(minutes=45)  # a 15-minute pause: a new stretch
        assert not wellbeing_activity(session=session, now=later, settings=settings).show
        wellbeing_dismiss(session=session, now=later)
        assert session[SESSION_WELLBEING_KEY]["start"] == later.timestamp()

    def test_turned_off_or_zero_never_shows(self, client, db):
        session = client.session
        start = timezone.now()
        for settings in (RecommenderSettings(wellbeing_enabled=False), RecommenderSettings(wellbeing_session_minutes=0)):
            session[SESSION_WELLBEING_KEY] = {"start": (start - dt.timedelta(hours=2)).timestamp(), "last": start.timestamp()}
            assert not wellbeing_activity(session=session, now=start, settings=settings).show

    def test_feed_shows_the_notice_when_due_and_dismiss_hides_it(self, client, member, shop):
        recommender_settings_update(data={"wellbeing_session_minutes": 20})
        session = client.session
        now = timezone.now()
        session[SESSION_WELLBEING_KEY] = {"start": (now - dt.timedelta(minutes=25)).timestamp(), "last": (now - dt.timedelta(minutes=1)).timestamp()}
        session.save()
        html = client.get(reverse("home")).content.decode()
        assert re.search(r'<aside class="notice notice-calm wellbeing" id="wellbeing"[^>]*data-limit="20">', html)
        assert "Time for a break?" in html and "browsing for <span class=\"wellbeing-minutes\">25</span>" in html
        ping = client.post(reverse("wellbeing-ping"))
        assert ping.json()["show"] is True and ping.json()["limit"] == 20
        response = client.post(reverse("wellbeing-dismiss"), HTTP_ACCEPT="application/json")
        assert response.json() == {"dismissed": True}
        assert client.post(reverse("wellbeing-ping")).json()["show"] is False
        html = client.get(reverse("home")).content.decode()
        assert re.search(r'id="wellbeing" role="status" aria-labelledby="wellbeing-title" hidden', html)


# ---- item page, co-purchases ----------------------------------------------------------------------------
class TestItemPage:
    def test_similar_items_also_bought_and_buy_forms(self, client, member, shop):
        anchor, other, third = shop["items"]["audio"][0], shop["items"]["books"][1], shop["items"]["garden"][2]
        for index in range(3):
            buyer = UserFactory()
            EventFactory(user=buyer, item=anchor, event_type=EventType.PURCHASE)
            EventFactory(user=buyer, item=other, event_type=EventType.PURCHASE)
            if index == 0:
                EventFactory(user=buyer, item=third, event_type=EventType.PURCHASE)
        response = client.get(anchor.get_absolute_url())
        html = response.content.decode()
        assert response.status_code == 200
        similar = [entry.item.pk for entry in response.context["similar"].items]
        assert similar and anchor.pk not in similar
        assert 'id="similar-items"' in html and 'class="card-reason"' in html
        assert [i.pk for i in response.context["also_bought"]] == [other.pk, third.pk]
        assert "Customers also bought" in html
        assert f'action="{reverse("cart-add", args=[anchor.pk])}"' in html and 'data-track-view="item"' in html

    def test_also_bought_is_one_query_and_skips_unavailable_items(self, shop, django_assert_num_queries):
        anchor, gone = shop["items"]["audio"][0], shop["items"]["books"][0]
        buyer = UserFactory()
        EventFactory(user=buyer, item=anchor, event_type=EventType.PURCHASE)
        EventFactory(user=buyer, item=gone, event_type=EventType.PURCHASE)
        EventFactory(user=buyer, item=shop["items"]["books"][2], event_type=EventType.VIEW)  # views do not count
        gone.in_stock = False
        gone.save()
        with django_assert_num_queries(1):
            assert items_also_bought(item_id=anchor.pk) == []

    def test_out_of_stock_item_has_no_buy_form(self, client, shop):
        item = shop["items"]["garden"][5]
        item.in_stock = False
        item.save()
        html = client.get(item.get_absolute_url()).content.decode()
        assert "Add to cart" not in html and "Out of stock: it can't be ordered" in html
