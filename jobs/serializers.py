import uuid

from rest_framework import serializers

from jobs import validators
from jobs.kinds import ALL_KINDS, SAT_KIND
from jobs.models import CallbackAttempt, CallbackDelivery, Job, JobLog, JobStatus
from project.pagination import MAX_OFFSET
from project.seed import StrictCharField, StrictSerializer

SECRET_FIELDS = ("login", "senha")


class StrictUUIDField(serializers.UUIDField):
    """A UUIDField that takes only text: DRF reads the number 5 (or true) as UUID 00000000-…-0005."""

    def to_internal_value(self, data):
        if not isinstance(data, (str, uuid.UUID)):
            self.fail("invalid")
        return super().to_internal_value(data)


class _JobPayload(StrictSerializer):
    processo_id = StrictUUIDField(
        required=False, allow_null=True,
        error_messages={"invalid": "value is not a valid uuid"},
    )

    def split(self) -> tuple[dict, dict, object]:
        """(non-secret params, secrets, processo_id) of the validated payload."""
        data = dict(self.validated_data)
        processo_id = data.pop("processo_id", None)
        secrets = {name: data.pop(name) for name in SECRET_FIELDS if name in data}
        return data, secrets, processo_id


class CarrierPayloadSerializer(_JobPayload):
    """AutomacaoPayload (seed 003 §5.1)."""

    login = StrictCharField(max_length=255, help_text="E-mail ou usuário do portal da operadora.")
    senha = StrictCharField(max_length=255, trim_whitespace=False, style={"input_type": "password"})
    filtro = StrictCharField(max_length=255, help_text="Filtro ou código de identificação.")
    cnpj = StrictCharField(max_length=18, help_text="Com ou sem pontuação.")

    def validate_cnpj(self, value: str) -> str:
        validators.cnpj_digits(value)
        return value


class SatPayloadSerializer(_JobPayload):
    """AutomacaoPayloadSat (seed 003 §5.2)."""

    cnpj = StrictCharField(max_length=18)
    razao = StrictCharField(max_length=255)
    operadora = StrictCharField(max_length=60)
    nome_filtro = StrictCharField(max_length=255)
    unidade = StrictCharField(max_length=255)
    servico = StrictCharField(max_length=255)
    dados_sat = StrictCharField(max_length=2000)
    nome_arquivo = StrictCharField(
        max_length=255, help_text="Fatura baixada por um job concluído que você pode ver (ex.: oi_202401.pdf).",
    )
    data_vencimento = StrictCharField(max_length=10, help_text="DD/MM/YYYY")

    def validate_cnpj(self, value: str) -> str:
        validators.cnpj_digits(value)
        return value

    def validate_data_vencimento(self, value: str) -> str:
        return validators.due_date(value)

    def validate_nome_arquivo(self, value: str) -> str:
        # Checked here, at creation, so that no job waits in line just to fail on a file it may
        # not use; the requester comes with the serializer's context.
        request = self.context.get("request")
        return validators.sat_invoice(value, user=getattr(request, "user", None))


def payload_serializer_for(kind: str) -> type[_JobPayload]:
    return SatPayloadSerializer if kind == SAT_KIND else CarrierPayloadSerializer


# --- Seed response shapes -------------------------------------------------------------------

class JobResponseSerializer(serializers.Serializer):
    """JobResponse (seed 003 §5.3)."""

    job_id = serializers.UUIDField(source="id")
    status = serializers.CharField()
    message = serializers.SerializerMethodField()
    status_url = serializers.CharField()

    def get_message(self, job: Job) -> str:
        if job.kind == SAT_KIND:
            return "Job criado para SAT"
        return f"Job criado para operadora {job.kind}"


class JobLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobLog
        fields = ["timestamp", "message"]


class JobStatusResponseSerializer(serializers.Serializer):
    """JobStatusResponse (seed 003 §5.4)."""

    job_id = serializers.UUIDField(source="id")
    operadora = serializers.CharField(source="kind")
    status = serializers.ChoiceField(choices=JobStatus.choices)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    result = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    logs = JobLogSerializer(many=True)


class JobSummarySerializer(serializers.Serializer):
    job_id = serializers.UUIDField(source="id")
    operadora = serializers.CharField(source="kind")
    status = serializers.ChoiceField(choices=JobStatus.choices)
    progress = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class JobListResponseSerializer(serializers.Serializer):
    total_jobs = serializers.IntegerField()
    jobs = JobSummarySerializer(many=True)


class JobListQuerySerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=JobStatus.values, required=False)
    operadora = serializers.CharField(max_length=40, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, required=False, default=0)


class HealthResponseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["healthy", "unhealthy"])
    message = serializers.CharField()
    jobs_pending = serializers.IntegerField()
    jobs_active = serializers.IntegerField()


# --- /api/v1 --------------------------------------------------------------------------------

class CallbackAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallbackAttempt
        fields = ["attempt", "attempted_at", "method", "url", "http_status", "error", "ok"]


class CallbackDeliverySerializer(serializers.ModelSerializer):
    attempt_log = CallbackAttemptSerializer(many=True)

    class Meta:
        model = CallbackDelivery
        fields = ["processo_id", "status", "state", "attempts", "next_attempt_at", "delivered_at", "attempt_log"]


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "progress", "params", "result", "error", "error_category",
            "processo_id", "created_at", "started_at", "completed_at",
        ]


class JobLogLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobLog
        fields = ["timestamp", "level", "message"]


class JobDetailSerializer(JobSerializer):
    logs = JobLogLineSerializer(many=True)
    callbacks = CallbackDeliverySerializer(many=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "logs", "callbacks"]


class JobFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=JobStatus.values, required=False)
    kind = serializers.ChoiceField(choices=ALL_KINDS, required=False)


# /api/v1 speaks Portuguese where the seed routes keep pydantic's English.
V1_STRICT_MESSAGES = {
    "type_error.dict": "Envie um objeto JSON.",
    "value_error.extra": "Campo desconhecido: não faz parte desta API.",
}


class JobCreateSerializer(StrictSerializer):
    """A job for any kind: `params` has the fields of that kind's seed payload. Unknown fields,
    at the top or in `params`, are refused by name (only the seed routes ignore them)."""

    default_error_messages = V1_STRICT_MESSAGES

    kind = serializers.ChoiceField(choices=ALL_KINDS)
    params = serializers.DictField(help_text="Os campos de AutomacaoPayload ou AutomacaoPayloadSat.")
    processo_id = StrictUUIDField(required=False, allow_null=True)

    def validate(self, attrs):
        payload = payload_serializer_for(attrs["kind"])(
            data=attrs["params"], context=self.context, error_messages=V1_STRICT_MESSAGES,
        )
        if not payload.is_valid():
            raise serializers.ValidationError({"params": payload.errors})
        params, secrets, processo_id = payload.split()
        # processo_id belongs to the seed payload too: keep it when sent inside params.
        if processo_id and attrs.get("processo_id") and processo_id != attrs["processo_id"]:
            raise serializers.ValidationError({"processo_id": ["difere do processo_id informado em params"]})
        return {**attrs, "params": params, "secrets": secrets, "processo_id": attrs.get("processo_id") or processo_id}
