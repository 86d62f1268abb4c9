from django.apps import AppConfig


class DjangoAkamaiConfig(AppConfig):
    name = "django_akamai"
    verbose_name = "Akamai"
    default_auto_field = "django.db.models.BigAutoField"
