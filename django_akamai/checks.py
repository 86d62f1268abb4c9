"""System checks (``manage.py check``) for django-akamai's settings."""
