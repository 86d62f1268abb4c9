from django.apps import AppConfig


class DjangoAkamaiConfig(AppConfig):
    name = "django_akamai"
    verbose_name = "Akamai"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing registers the system checks and connects the receivers; nothing here
        # does I/O or imports Celery.
        from . import checks  # noqa: F401
        from . import history as _history  # noqa: F401  (purge history receivers)
        from .autopurge import connect as connect_autopurge
        from .delivery.modes import sweep_from_first_request
        from .verification import receivers as _verify  # noqa: F401  (after the history's)

        connect_autopurge()  # receivers for the models in AKAMAI_PURGE_MODELS
        sweep_from_first_request()  # a web process looks for pending intents from then on
