"""The WSGI application gunicorn serves (`gunicorn -c gunicorn.conf.py`, see the README's Deployment)."""

import os

import django

from portal_project.middleware import PortalWSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal_project.settings")
django.setup(set_prefix=False)

# Django's own handler, with a request that survives a charset no codec of text can decode.
application = PortalWSGIHandler()
