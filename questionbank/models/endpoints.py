"""Model servers: a Gradio WEBUI or an OpenAI-compatible server."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from questionbank import encryption
from questionbank.validators import validate_server_url


class EncryptedSecretField(models.TextField):
    """A secret stored encrypted (``questionbank.encryption``): whatever is assigned is
    encrypted on its way to the database; what is read back stays in its stored,
    encrypted form, so nothing that renders or copies an endpoint can show the secret.
    ``ModelEndpoint.secret()`` decrypts, for the model-server client only.

    Never serialized (``dumpdata`` and every Django serializer leave it out).
    """

    def __init__(self, *args, **kwargs):
        kwargs["serialize"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("serialize", None)
        return name, path, args, kwargs

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encryption.encrypt(value) if value else value


class ModelEndpointQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(enabled=True)


class ModelEndpoint(models.Model):
    """Where the model runs and how to talk to it.

    ``password`` and ``api_key`` are write-only and encrypted at rest
    (``EncryptedSecretField``): forms and the admin show only "set" or "not set",
    ``__repr__`` hides them, and the call log stores requests with them redacted.
    ``base_url`` never carries ``user:password@`` (the validator refuses it).
    """

    class Protocol(models.TextChoices):
        GRADIO = "gradio", _("Gradio WEBUI")
        OPENAI = "openai", _("OpenAI-compatible (vLLM, SGLang, llama.cpp, Ollama)")

    class PenaltyStyle(models.TextChoices):
        # OpenAI-compatible servers spell repetition penalty differently (webui.Endpoint).
        REPETITION_PENALTY = "repetition_penalty", _("repetition_penalty (vLLM, SGLang)")
        REPEAT_PENALTY = "repeat_penalty", _("repeat_penalty (llama.cpp)")
        NONE = "none", _("not sent (Ollama, or servers that reject unknown fields)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    protocol = models.CharField(_("protocol"), max_length=20, choices=Protocol.choices,
                                default=Protocol.GRADIO)
    base_url = models.CharField(_("base url"),
        max_length=500,
        validators=[validate_server_url],
        help_text=_("e.g. http://gpu-box:7860 (Gradio) or http://gpu-box:8000 (vLLM)."),
    )
    api_name = models.CharField(_("api name"),
        max_length=200,
        blank=True,
        help_text=_("Gradio endpoint such as /predict. Leave empty to discover it."),
    )
    model_name = models.CharField(_("model name"),
        max_length=200,
        blank=True,
        help_text=_("OpenAI-compatible servers: the model id. Leave empty for the first one "
                    "served."),
    )
    parameter_layout = models.JSONField(_("parameter layout"),
        default=dict, blank=True, editable=False,
        help_text=_("Discovered: our fields mapped to the server's parameters."),
    )
    layout_override = models.JSONField(_("layout override"),
        default=dict,
        blank=True,
        help_text=_('Overrides discovery, e.g. {"user_input": "question", "system_prompt": 0}.'),
    )
    server_version = models.CharField(_("server version"), max_length=50, blank=True,
                                      editable=False)
    discovered_at = models.DateTimeField(_("discovered at"), null=True, blank=True, editable=False)
    username = models.CharField(_("username"), max_length=150, blank=True,
                                help_text=_("Gradio login, if any."))
    password = EncryptedSecretField(_("password"), blank=True)
    api_key = EncryptedSecretField(_("api key"), blank=True)
    connect_timeout = models.FloatField(_("connect timeout"),
        default=10.0,
        validators=[MinValueValidator(0.5), MaxValueValidator(300)],
        help_text=_("Seconds to wait for the server to accept a connection."),
    )
    read_timeout = models.FloatField(_("read timeout"),
        default=15 * 60.0,
        validators=[MinValueValidator(1), MaxValueValidator(6 * 3600)],
        help_text=_("Seconds of silence from the server before giving up (default 15 minutes: "
        "a long answer without streaming sends nothing until it is done)."),
    )
    deadline = models.FloatField(_("deadline"),
        default=60 * 60.0,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 3600)],
        help_text=_("Seconds one call may take in all (default 1 hour)."),
    )
    max_concurrency = models.PositiveSmallIntegerField(_("max concurrency"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(256)],
        help_text=_("Calls in flight at once: 1 for a Gradio WEBUI, 16-64 for vLLM or SGLang."),
    )
    stream = models.BooleanField(_("stream"),
        default=True, help_text=_("Use streaming when the server offers it (shows partial text).")
    )
    penalty_style = models.CharField(_("penalty style"),
        max_length=20,
        choices=PenaltyStyle.choices,
        default=PenaltyStyle.REPETITION_PENALTY,
        help_text=_("OpenAI-compatible servers only: how the server spells repetition penalty. "
        "repetition_penalty for vLLM and SGLang, repeat_penalty for llama.cpp, "
        "none for Ollama (the penalty is then not sent). Gradio WEBUIs ignore this."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    is_standin = models.BooleanField(_("is standin"),
        default=False, editable=False,
        help_text=_("The stand-in WEBUI shipped for trying the app: its answers are not the "
                    "model's."),
    )
    # Circuit breaker, shared by every worker through the database.
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0,
                                                       editable=False)
    paused_until = models.DateTimeField(_("paused until"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    # Last health check.
    last_checked_at = models.DateTimeField(_("last checked at"), null=True, blank=True,
                                           editable=False)
    last_check_ok = models.BooleanField(_("last check ok"), null=True, editable=False)
    last_check_latency_ms = models.PositiveIntegerField(_("last check latency ms"), null=True,
                                                        blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ModelEndpointQuerySet.as_manager()

    SECRET_FIELDS = ("password", "api_key")

    class Meta:
        ordering = ["name"]
        verbose_name = _("model endpoint")
        verbose_name_plural = _("model endpoints")

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<ModelEndpoint {self.pk}: {self.name} {self.protocol} {self.base_url}>"

    def get_absolute_url(self) -> str:
        return reverse("admin:questionbank_modelendpoint_change", args=[self.pk])

    def secret(self, name: str) -> str:
        """The plain text of secret field ``name`` (``password`` or ``api_key``), for the
        model-server client only; raises ``encryption.SecretsKeyError`` with a sentence
        when QB_SECRETS_KEY cannot open it."""
        if name not in self.SECRET_FIELDS:
            raise ValueError(f"{name!r} is not a secret field of ModelEndpoint.")
        return encryption.decrypt(getattr(self, name))

    def has_secret(self, name: str) -> bool:
        """Whether secret field ``name`` holds a value ("set" / "not set" on pages)."""
        return bool(getattr(self, name))

    @property
    def is_paused(self) -> bool:
        return self.paused_until is not None and self.paused_until > timezone.now()

    def pause_message(self) -> str:
        """'paused: 3 failures, retrying at 14:05', or '' when the endpoint is not paused."""
        if not self.is_paused:
            return ""
        at = timezone.localtime(self.paused_until).strftime("%H:%M")
        return ngettext("paused: %(n)d failure, retrying at %(at)s",
                        "paused: %(n)d failures, retrying at %(at)s",
                        self.consecutive_failures) % {"n": self.consecutive_failures, "at": at}
