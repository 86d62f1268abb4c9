"""django-akamai: purge Akamai's CDN from Django."""

__version__ = "3.0.0"
