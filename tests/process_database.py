"""The database of the processes a test starts (a site, workers): one on disk that they share,
as a site and its workers would. Used by the settings modules of those processes."""


def shared_database(name: str, *, postgresql: bool) -> dict:
    """``DATABASES`` for a PostgreSQL database of this run's own, or an SQLite file."""
    if postgresql:
        return {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": name,
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": "5432",
            }
        }
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            # Several processes write the same file: wait for the lock rather than fail.
            "OPTIONS": {"timeout": 30},
        }
    }
