"""Small pieces shared by the REST APIs."""
from django.conf import settings
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination

from common.exceptions import ValidationFailed
from common.parsing import ascii_int


class CappedPageNumberPagination(PageNumberPagination):
    """Page-number pagination whose ``page_size`` query parameter is capped (default 24, max 100).

    A ``page_size`` that is not a positive whole number is a 400 (DRF alone would quietly use the default); one
    above the cap is served at the cap. A ``page`` past the end is DRF's 404 (``Invalid page.``).
    """

    page_size = 24
    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:  # read at request time so tests and env can change it
        return settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        size = ascii_int(raw, low=1)
        if size is None:
            raise ValidationFailed(errors={self.page_size_query_param: ["A positive whole number is required."]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = f"Results per page (default {self.page_size}; larger than {self.max_page_size} is served at {self.max_page_size})."
        return parameters


class JsonFloatField(serializers.FloatField):
    """A number in a JSON body is a JSON number: DRF's ``FloatField`` also takes ``false`` (as 0.0) and numeric
    strings, which the schema (``type: number``) does not allow (#13: found by the fuzzer)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class JsonBooleanField(serializers.BooleanField):
    """A boolean in a JSON body is ``true`` or ``false``: DRF's ``BooleanField`` also takes 0, 1, "yes", "on"...,
    which the schema (``type: boolean``) does not allow (#13: found by the fuzzer)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
