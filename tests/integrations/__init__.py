"""Tests with Wagtail and Django's Tasks framework installed, in a pytest process of their own.

They need apps the rest of the suite does without (Wagtail's ~100 migrations would slow every
run), so ``tests/test_integrations.py`` runs them with ``--ds=tests.integrations.settings``;
under the main settings this directory is not collected.
"""
