"""The error dialect of the seed-compatible routes (seed 003 §4, §11).

Existing frontends were written against a FastAPI service: validation errors are HTTP 422 with a
`detail` list of `{loc, msg, type}`, authentication failures are 401 "Token inválido ou
expirado", everything else is `{"detail": "<sentence>"}`. Views on those routes subclass
`SeedAPIView`; the /api/v1 surface keeps DRF's own error format. Unknown body fields are
ignored on these routes, as pydantic ignored them, and named in the `X-Ignored-Fields` header.
"""

from urllib.parse import quote

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from project.jsonbody import JSON_INVALID, JSON_TOO_DEEP
from project.middleware import body_too_large_message

INVALID_TOKEN = "Token inválido ou expirado"

# What a StrictSerializer does with a body field it does not know.
REJECT = "reject"
IGNORE = "ignore"
IGNORED_FIELDS_HEADER = "X-Ignored-Fields"
IGNORED_NAME_MAX_CHARS = 64
IGNORED_HEADER_MAX_CHARS = 1024
IGNORED_FIELDS_DOC = OpenApiParameter(
    IGNORED_FIELDS_HEADER, str, OpenApiParameter.HEADER, response=[200],
    description="Campos do corpo desconhecidos por esta rota, ignorados (separados por vírgula, "
                "cada nome codificado como em URL). Ausente quando não há nenhum.",
)

# DRF error codes → (pydantic-style message, pydantic-style type).
_CODE_TO_PYDANTIC = {
    "required": ("field required", "value_error.missing"),
    "null": ("none is not an allowed value", "type_error.none.not_allowed"),
    "blank": ("ensure this value has at least 1 characters", "value_error.any_str.min_length"),
    "max_length": (None, "value_error.any_str.max_length"),
    "invalid_choice": (None, "type_error.enum"),
    "max_value": (None, "value_error.number.not_le"),
    "min_value": (None, "value_error.number.not_ge"),
}


class SeedAPIView(APIView):
    """An APIView that speaks the seed's error dialect."""

    def get_exception_handler(self):
        return seed_exception_handler


def seed_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": body_too_large_message()}, status=413)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response = Response({"detail": INVALID_TOKEN}, status=status.HTTP_401_UNAUTHORIZED)
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if isinstance(exc, exceptions.ParseError):
        # A body nested too deeply is malformed JSON to the seed's frontends too (422), with its
        # own sentence.
        ours = getattr(exc.detail, "code", None) in (JSON_TOO_DEEP, JSON_INVALID)
        return Response(
            {"detail": [{"loc": ["body"], "msg": str(exc.detail) if ours else f"JSON inválido: {exc.detail}",
                         "type": "value_error.jsondecode"}]},
            status=422,
        )
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return Response(
            {"detail": [{"loc": ["body"], "msg": "o corpo deve ser JSON (Content-Type: application/json)",
                         "type": "value_error.content_type"}]},
            status=422,
        )
    if isinstance(exc, SeedValidationError):
        return Response({"detail": exc.errors}, status=422)
    if isinstance(exc, exceptions.ValidationError):
        return Response({"detail": validation_errors(exc.detail, "body")}, status=422)
    return exception_handler(exc, context)


class SeedValidationError(exceptions.APIException):
    """Raise with a ready list of `{loc, msg, type}` (used for query parameters)."""

    status_code = 422

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__(detail=errors)


def validation_errors(detail, location: str) -> list[dict]:
    """Flatten a DRF ValidationError detail into the seed's `{loc, msg, type}` list."""
    errors: list[dict] = []
    _flatten(detail, [location], errors)
    return errors


def _flatten(detail, loc: list, errors: list[dict]) -> None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = loc if key in ("non_field_errors", "__all__") else [*loc, key]
            _flatten(value, sub, errors)
    elif isinstance(detail, list):
        for item in detail:
            _flatten(item, loc, errors)
    else:
        code = getattr(detail, "code", "invalid")
        message, kind = _CODE_TO_PYDANTIC.get(code, (None, code if "." in code else f"value_error.{code}"))
        errors.append({"loc": loc, "msg": message or str(detail), "type": kind})


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    default_error_messages = {"type_error.str": "str type expected"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("type_error.str")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """A Serializer that never drops an unknown field silently.

    By default it refuses one by name (422 `value_error.extra`). The seed's routes construct it
    with `unknown_fields=IGNORE`, as the original service (pydantic's default) did: unknown fields
    are dropped and their names kept in `ignored_fields`, for the `X-Ignored-Fields` header.
    Its messages are pydantic's, which seed frontends know; other callers may pass their own
    (`error_messages=`) under the same codes.
    """

    default_error_messages = {
        "type_error.dict": "value is not a valid dict",
        "value_error.extra": "extra fields not permitted",
    }

    def __init__(self, *args, unknown_fields: str = REJECT, **kwargs):
        if unknown_fields not in (REJECT, IGNORE):
            raise ValueError(f"unknown_fields must be {REJECT!r} or {IGNORE!r}")
        self.unknown_fields = unknown_fields
        self.ignored_fields: list[str] = []
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [self._error("type_error.dict")]}
            )
        extra = sorted(set(data) - set(self.fields))
        if self.unknown_fields == IGNORE:
            self.ignored_fields = extra
            return super().to_internal_value({name: value for name, value in data.items() if name in self.fields})
        errors = {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors.update(exc.detail)
            value = None
        for name in extra:
            errors[name] = [self._error("value_error.extra")]
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def _error(self, code: str) -> serializers.ErrorDetail:
        return serializers.ErrorDetail(self.error_messages[code], code=code)


def ignored_fields_header(response: Response, names: list[str]) -> Response:
    """Name the body fields a seed route ignored in the `X-Ignored-Fields` header of `response`.

    Names come from the client: each is cut to IGNORED_NAME_MAX_CHARS and percent-encoded (so a
    comma, a line break or an accent cannot break the header), and the list stops before the
    header would pass IGNORED_HEADER_MAX_CHARS.
    """
    encoded: list[str] = []
    length = 0
    for name in names:
        item = quote(str(name)[:IGNORED_NAME_MAX_CHARS], safe="")
        length += len(item) + (1 if encoded else 0)
        if length > IGNORED_HEADER_MAX_CHARS:
            break
        encoded.append(item)
    if encoded:
        response[IGNORED_FIELDS_HEADER] = ",".join(encoded)
    return response


class SeedErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class SeedValidationItemSerializer(serializers.Serializer):
    loc = serializers.ListField(child=serializers.CharField())
    msg = serializers.CharField()
    type = serializers.CharField()


class SeedValidationErrorSerializer(serializers.Serializer):
    detail = SeedValidationItemSerializer(many=True)
