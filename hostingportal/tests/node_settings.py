"""The settings of the web nodes that test_two_web_nodes.py starts: production's
(DEBUG=False, from the environment it sets) but for static files, served unhashed, so
the nodes need no `collectstatic` into the repository first. Nothing checked there
depends on static files."""

from hostingportal.settings import *  # noqa: F403

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
