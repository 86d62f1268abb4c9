"""Integrations with other Django projects; each sub-package is an optional extra.

Nothing outside ``contrib`` imports these packages, so django-akamai itself never needs them.
"""
