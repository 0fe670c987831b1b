"""A fourth domain app that exists only in the tests: loyalty memberships.

It shows what adding a section takes: this app, its line in INSTALLED_APPS and its URL include (tests/settings.py,
tests/urls.py), and the section its AppConfig declares. No other file names it.
"""
