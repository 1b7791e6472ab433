"""The API's JSON parser: DRF's, refusing at the door what would fail later as a 500.

Four kinds of JSON parse fine in Python yet cannot be stored or answered: nesting deeper than the parser's
recursion limit (a ``RecursionError``, not a ``ValueError``), lone UTF-16 surrogates (``"\\ud800"``: a string that
no database column or UTF-8 response can hold), NUL characters (``"\\u0000"``: PostgreSQL's text and jsonb cannot
hold them) and integers outside the signed 64-bit range (no id or count column holds them). Each is a 400
``parse_error`` in the one error shape, for every endpoint at once.
"""
import codecs
import json
from collections.abc import Iterator
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from common.parsing import INT64_MAX, INT64_MIN


def _int64(text: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"integer {text[:24]}{'...' if len(text) > 24 else ''} is outside the signed 64-bit range")
    return value


def _strings(data: Any) -> Iterator[str]:
    """Every string in parsed JSON (keys and values), walked without recursion (depth is the client's)."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def json_refusals(data: Any) -> str | None:
    """Why parsed JSON cannot be accepted (a lone surrogate or a NUL in a string), or ``None`` when it can."""
    for text in _strings(data):
        if "\x00" in text:
            return "strings must not contain NUL characters (\\u0000: PostgreSQL text cannot hold them)"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "strings must be valid Unicode (a lone surrogate such as \\ud800 is not)"
    return None


class JSONParser(parsers.JSONParser):
    """DRF's ``JSONParser`` (NaN and Infinity refused) that also refuses deep nesting, lone surrogates, NUL
    characters and integers outside int64.

    Raises
    ------
    rest_framework.exceptions.ParseError
        400 ``parse_error`` with the reason.
    """

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        try:
            data = json.load(codecs.getreader(encoding)(stream), parse_constant=strict_constant, parse_int=_int64)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        reason = json_refusals(data)
        if reason is not None:
            raise ParseError(f"JSON parse error - {reason}.")
        return data
