"""gunicorn's settings for the portal: `gunicorn -c gunicorn.conf.py` (the README's Deployment section).

Meant to run behind a reverse proxy that buffers requests (deploy/nginx.conf); each value can be changed
through the environment without editing this file.
"""

import os

wsgi_app = "portal_project.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Threads, not one process per request: a slow client holds one thread, not a whole worker. gthread hands a
# connection that sends nothing back to its poller; this subclass also cuts off one that stalls half-way
# through its request for GUNICORN_CLIENT_TIMEOUT seconds (15).
worker_class = "portal_project.gunicorn_worker.DeadlineThreadWorker"
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * (os.cpu_count() or 1)))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# A request still running after this long is killed with its worker; pages answer in well under a second.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# Workers are replaced now and then, so no slow leak can grow without bound.
max_requests = 5000
max_requests_jitter = 500

# Requests the portal never needs: an over-long line or too many headers are refused before Django sees them.
limit_request_line = 4094
limit_request_fields = 60
limit_request_field_size = 8190

# Trust X-Forwarded-* only from the proxy on the same machine unless told otherwise.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# The access log never shows a token: emailed links, sign-on tokens and booking keys are written [redacted].
logger_class = "portal_project.log_redaction.RedactingLogger"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
