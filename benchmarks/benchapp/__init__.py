"""A one-model Django app for the QuerySet-resolving benchmark."""
