"""The optional Wagtail app: connects the move and dependents handlers, loads the tag hook,
registers the backends' system check."""

from django.apps import AppConfig


class AkamaiWagtailConfig(AppConfig):
    name = "django_akamai.contrib.wagtail"
    label = "django_akamai_wagtail"
    verbose_name = "Akamai for Wagtail"

    def ready(self) -> None:
        from django.core import checks

        from .checks import check_backends
        from .signal_handlers import connect

        connect()
        checks.register(check_backends)
