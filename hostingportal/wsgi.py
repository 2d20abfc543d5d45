import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostingportal.settings")
# Web processes get the web-only limits of settings (WEB_STATEMENT_TIMEOUT_MS).
os.environ.setdefault("PORTAL_PROCESS", "web")
application = get_wsgi_application()
