"""JSON from clients, with a bound on how deeply it nests.

Python's decoder recurses once per level: a 10 KB body of `[[[…]]]` raises RecursionError, which
no view expects (a 500, or a dropped websocket). Every JSON a client sends us — request bodies
through DRF's parser, websocket frames, the sandbox portals' JSON routes — is read here instead,
and anything nested deeper than any of our payloads can be is a ValueError like any malformed
JSON, with a sentence that says what is wrong.
"""

import codecs
import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils.json import strict_constant

# Our own payloads are flat objects (a websocket frame, a job's fields); a little room is left
# for callers that nest a level or two more.
MAX_JSON_DEPTH = 32
# The ParseError codes of a body nested too deeply, and of one that is not JSON at all.
JSON_TOO_DEEP = "json_too_deep"
JSON_INVALID = "json_invalid"


class JsonTooDeepError(ValueError):
    def __init__(self) -> None:
        super().__init__(f"JSON aninhado demais: o limite é de {MAX_JSON_DEPTH} níveis de listas e objetos.")


def json_loads_bounded(text: str | bytes, **options) -> Any:
    """json.loads, refusing values nested deeper than MAX_JSON_DEPTH with JsonTooDeepError."""
    try:
        value = json.loads(text, **options)
    except RecursionError:
        raise JsonTooDeepError() from None
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise JsonTooDeepError()
    return value


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser with the nesting bound; its errors are DRF's ParseError (400, or the
    seed dialect's 422 on the seed routes)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            return json_loads_bounded(text, parse_constant=strict_constant if self.strict else None)
        except JsonTooDeepError as exc:
            raise ParseError(str(exc), code=JSON_TOO_DEEP) from None
        except json.JSONDecodeError as exc:
            raise ParseError(f"JSON inválido: {exc.msg} (linha {exc.lineno}, coluna {exc.colno}).",
                             code=JSON_INVALID) from None
        except ValueError as exc:  # not text in the declared encoding
            raise ParseError(f"JSON inválido: {exc}.", code=JSON_INVALID) from None


def _depth_exceeds(value: Any, limit: int) -> bool:
    # Iterative on purpose: the point is never to recurse once per level of the client's data.
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
