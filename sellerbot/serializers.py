"""What /bot/* accepts and returns (seed 004). Ids go out as strings, as the seed's example sends
them, and come in as strings or integers."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from project.seed import StrictCharField, StrictSerializer
from sellerbot import selectors
from sellerbot.models import BotTask, Profile, TaskType
from sellerbot.task_configs import config_errors

REGIONS = ("BR", "US", "MX", "GB", "ES", "ID", "TH", "VN", "MY", "PH", "SG")
MAX_INTERVAL_SECONDS = 7 * 24 * 3600
MIN_INTERVAL_SECONDS = 60


@extend_schema_field({
    "oneOf": [{"type": "string", "pattern": r"^\s*[0-9]+\s*$"}, {"type": "integer", "minimum": 1}],
    "description": "Um id numérico, como texto (\"123\") ou número (123); devolvido como texto.",
})
class IdField(serializers.Field):
    """A positive id given as 123 or "123"."""

    default_error_messages = {"invalid": "deve ser um id numérico (ex.: 123 ou \"123\")"}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str) and data.strip().isdigit():
            data = int(data.strip())
        if not isinstance(data, int) or data <= 0 or data > 2**62:
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return str(value)


def id_from_path(raw: str) -> int | None:
    """An id from the URL; None for anything that is not a positive number (→ 404)."""
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 18 or int(raw) <= 0:
        return None
    return int(raw)


class ProfileCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=100, trim_whitespace=True)
    username = StrictCharField(max_length=200, trim_whitespace=True)
    password = StrictCharField(max_length=200, trim_whitespace=False, write_only=True)
    region = serializers.ChoiceField(choices=REGIONS, required=False, default="BR")
    # The code the Seller Center asks for after the password on a new device; kept encrypted
    # and typed only when asked (a kept session skips the step).
    verification_code = StrictCharField(max_length=12, required=False, allow_blank=True, write_only=True)

    def validate_verification_code(self, value: str) -> str:
        return _digits_only(value)


class ProfileVerifySerializer(StrictSerializer):
    code = StrictCharField(max_length=12, required=False, allow_blank=True)

    def validate_code(self, value: str) -> str:
        return _digits_only(value)


def _digits_only(value: str) -> str:
    value = value.strip()
    if value and not value.isdigit():
        raise serializers.ValidationError("o código de verificação tem só dígitos")
    return value


class ProfileSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)
    has_session = serializers.SerializerMethodField()
    tasks = serializers.SerializerMethodField()

    class Meta:
        model = Profile
        fields = ["id", "name", "username", "region", "login_status", "status_message", "last_verified_at",
                  "has_session", "tasks", "created_at"]

    def get_has_session(self, profile: Profile) -> bool:
        return bool((profile.credentials or {}).get("cookies"))

    def get_tasks(self, profile: Profile) -> int:
        return getattr(profile, "task_count", None) or profile.tasks.count()


class TaskCreateSerializer(StrictSerializer):
    task_type = serializers.ChoiceField(
        choices=TaskType.values,
        error_messages={"invalid_choice": "'{input}' não é um task_type válido; os válidos são: "
                                          + ", ".join(TaskType.values)},
    )
    profile_id = IdField()
    config = serializers.JSONField(required=False, default=dict)
    interval_seconds = serializers.IntegerField(
        required=False, allow_null=True, min_value=MIN_INTERVAL_SECONDS, max_value=MAX_INTERVAL_SECONDS,
    )

    def validate(self, data):
        errors = config_errors(data["task_type"], data.get("config", {}))
        if errors and errors[0][0] == "config":
            raise serializers.ValidationError({"config": [errors[0][1]]})
        if errors:
            by_key: dict[str, list[str]] = {}
            for key, message in errors:
                by_key.setdefault(key, []).append(message)
            raise serializers.ValidationError({"config": by_key})
        return data


class TaskRunSerializer(serializers.Serializer):
    job_id = serializers.UUIDField(allow_null=True)
    status = serializers.CharField()
    queued_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)
    replies_sent = serializers.IntegerField()
    error = serializers.CharField()
    retry_count = serializers.IntegerField()


class TaskSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)
    profile_id = IdField(read_only=True)
    profile_name = serializers.CharField(source="profile.name", read_only=True)
    last_run = serializers.SerializerMethodField()

    class Meta:
        model = BotTask
        fields = ["id", "task_type", "profile_id", "profile_name", "config", "interval_seconds", "status",
                  "next_run_at", "last_run_at", "last_error", "runs", "last_run", "created_at"]

    def get_last_run(self, task: BotTask) -> dict | None:
        run = selectors.task_last_run(task)
        return TaskRunSerializer(run).data if run else None


class SwitchSerializer(StrictSerializer):
    reason = StrictCharField(max_length=300, required=False, allow_blank=True)
