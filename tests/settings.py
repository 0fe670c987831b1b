"""Test settings: production settings with fast hashing, inline email and no HTTPS redirect."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SITE_URL", "https://portal.example.test")
os.environ.setdefault("EMAIL_URL", "smtp://127.0.0.1:2525")

from portal_project.settings import *  # noqa: E402,F403

# argon2 stays in the tests of hashing itself, which ask for it explicitly.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.Argon2PasswordHasher"]
SECURE_SSL_REDIRECT = False
# The work a request leaves to a task is done at once, after commit, so a test sees its outcome; a test of the
# worker itself asks for the database backend (tests/portal_core/conftest.py).
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
SILENCED_SYSTEM_CHECKS = ["portal_core.E001"]  # the immediate backend, refused outside DEBUG, is wanted here
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# One process runs the tests, so an in-memory cache is shared by all its threads (the live server too).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
MEDIA_ROOT = os.environ.get("TEST_MEDIA_ROOT", "/tmp/portal-test-media")
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# A domain app that exists only in the tests, to show a new section needs nothing outside itself but these two lines.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.loyalty_app"]  # noqa: F405
ROOT_URLCONF = "tests.urls"
PAGE_CACHE_ENABLED = True  # the in-memory cache above: pages are cached in the tests as with Redis in production
