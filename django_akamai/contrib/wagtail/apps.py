"""The optional Wagtail app: connects the move and dependents handlers, loads the tag hook."""

from django.apps import AppConfig


class AkamaiWagtailConfig(AppConfig):
    name = "django_akamai.contrib.wagtail"
    label = "django_akamai_wagtail"
    verbose_name = "Akamai for Wagtail"

    def ready(self) -> None:
        from .signal_handlers import connect

        connect()
