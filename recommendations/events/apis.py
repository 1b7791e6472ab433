from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import CappedPageNumberPagination
from common.exceptions import ValidationFailed
from common.throttling import EventsAnonRateThrottle
from recommendations.events.actors import Actor, actor_from_request, events_on_behalf_allowed
from recommendations.events.ingest import event_ingest
from recommendations.events.selectors import event_list
from recommendations.models import EventType


def request_actor(request: Request, *, create: bool) -> Actor | None:
    """The authenticated user, or the anonymous browser session (created only when ``create``: a write)."""
    return actor_from_request(request, create=create)


class EventInputSerializer(serializers.Serializer):
    """Documents one event. Validation itself runs in ``recommendations.events.ingest`` for the whole batch."""

    client_event_id = serializers.CharField(
        max_length=64, required=False,
        help_text="Your id for the event, unique among your own events; resending it is harmless (other clients' ids never clash).",
    )
    item = serializers.IntegerField(required=False, help_text="Item id (or give `sku`).")
    sku = serializers.CharField(required=False, max_length=64)
    event_type = serializers.ChoiceField(choices=EventType.choices)
    value = serializers.FloatField(required=False, help_text="Required for rating (0-10) and dwell (seconds).")
    timestamp = serializers.DateTimeField(required=False, help_text="ISO 8601 or Unix seconds; naive means UTC; default now.")
    context = serializers.DictField(required=False, help_text='e.g. {"device": "mobile", "local_hour": 21}')
    user = serializers.IntegerField(
        required=False, help_text="Staff with the recommendations.add_event permission only: the user the event belongs to (a superuser's: superusers only).",
    )


class EventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    client_event_id = serializers.CharField(read_only=True)
    item = serializers.IntegerField(source="item_id", read_only=True)
    item_title = serializers.CharField(source="item.title", read_only=True)
    event_type = serializers.CharField(read_only=True)
    value = serializers.FloatField(read_only=True, allow_null=True)
    context = serializers.DictField(read_only=True)
    timestamp = serializers.DateTimeField(read_only=True)


class EventCreateApi(APIView):
    """Record one event or a batch (a JSON list, or ``{"events": [...]}``) of at most EVENTS_MAX_BATCH."""

    permission_classes = [AllowAny]

    def get_throttles(self) -> list:
        """The API's throttles plus the anonymous events scope (counted in events; ``THROTTLE_EVENTS_ANON_RATE``)."""
        return [*super().get_throttles(), EventsAnonRateThrottle()]

    @extend_schema(
        request=EventInputSerializer(many=True),
        responses={
            201: inline_serializer(
                "EventIngestResult",
                {
                    "accepted": serializers.IntegerField(),
                    "duplicates": serializers.IntegerField(),
                    "statuses": serializers.ListField(child=serializers.CharField()),
                },
            ),
            200: OpenApiResponse(
                response=inline_serializer(
                    "EventIngestDuplicates",
                    {
                        "accepted": serializers.IntegerField(),
                        "duplicates": serializers.IntegerField(),
                        "statuses": serializers.ListField(child=serializers.CharField()),
                    },
                ),
                description="Nothing new: every event of the batch was already stored (resending is harmless).",
            ),
            400: OpenApiResponse(description='Invalid events: nothing is written; `errors` maps each bad event\'s position ("3") to its field errors.'),
            429: OpenApiResponse(description="Too many events from this anonymous client (THROTTLE_EVENTS_ANON_RATE, counted in events); retry after `Retry-After` seconds."),
        },
        # The request is already a list of EventInput: the example is one event of it (drf-spectacular wraps it).
        examples=[OpenApiExample("batch", value={"client_event_id": "a1", "item": 1, "event_type": "view"}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        payload = request.data
        if isinstance(payload, dict) and "events" in payload:
            payload = payload["events"]
        if isinstance(payload, dict):
            payload = [payload]
        if not isinstance(payload, list):
            raise ValidationFailed('Send an event object, a list of events, or {"events": [...]}.')
        # An EventBatchError reaches the API exception handler: 400 in the one error shape.
        result = event_ingest(
            actor=request_actor(request, create=True),
            events=payload,
            allow_user_field=events_on_behalf_allowed(user=request.user),
            allow_superuser_field=bool(request.user.is_authenticated and request.user.is_superuser),
            max_batch=settings.EVENTS_MAX_BATCH,
        )
        code = status.HTTP_201_CREATED if result.accepted else status.HTTP_200_OK
        return Response({"accepted": result.accepted, "duplicates": result.duplicates, "statuses": result.statuses}, status=code)


class EventListApi(APIView):
    """Your own events, newest first (a user never sees anyone else's)."""

    permission_classes = [AllowAny]
    pagination_class = CappedPageNumberPagination  # the schema documents the paged object and its 404

    @extend_schema(responses=EventOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        actor = request_actor(request, create=False)  # no session cookie: no events, and no session row made
        queryset = event_list(user_id=actor.user_id, session_key=actor.session_key) if actor else event_list()
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(EventOutputSerializer(page, many=True).data)


class EventApi(EventCreateApi, EventListApi):
    """``/api/v1/events/``: GET lists your events, POST records events (both operations share one URL)."""

