"""The API's list pagination: ?limit= and ?offset= with bounds.

DRF's LimitOffsetPagination takes any limit (?limit=100000000 reads the whole
table into one response; a limit of 30 digits overflows the database's
LIMIT and answers 500) and reads int() loosely ('١٢', ' 12 ', '1_2').
Here:
- limit is 1 or more, default PAGE_SIZE (100), and is capped at
  API_MAX_PAGE_SIZE (1000): a larger limit gives pages of 1000;
- offset is 0 to MAX_OFFSET (10**9);
- both are plain ASCII digits; anything else answers 400 naming the parameter.
"""
import re

from django.conf import settings
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

DIGITS = re.compile(r"[0-9]+")
MAX_OFFSET = 10**9


def _whole(raw, name):
    if not DIGITS.fullmatch(raw):
        raise ValidationError({name: [f"'{name}' must be a whole number written with the digits 0-9."]})
    # A 19-digit number is beyond every bound here; no need to convert more.
    return int(raw) if len(raw) < 19 else 10**19


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    limit_query_description = (
        f"Results per page: 1 or more, default 100, at most {settings.API_MAX_PAGE_SIZE} "
        "(a larger limit is capped)."
    )
    offset_query_description = f"The index of the first result: 0 to {MAX_OFFSET}."

    @property
    def max_limit(self):
        return settings.API_MAX_PAGE_SIZE

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param, "")
        if raw == "":
            return self.default_limit
        limit = _whole(raw, self.limit_query_param)
        if limit < 1:
            raise ValidationError({self.limit_query_param: ["'limit' must be at least 1."]})
        return min(limit, self.max_limit)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param, "")
        if raw == "":
            return 0
        offset = _whole(raw, self.offset_query_param)
        if offset > MAX_OFFSET:
            raise ValidationError({self.offset_query_param: [f"'offset' must be at most {MAX_OFFSET}."]})
        return offset

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: {"minimum": 1}, self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET}}
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
