from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Back office"

    def ready(self):
        from django.contrib import admin

        admin.site.site_header = "Hosting Portal back office"
        admin.site.site_title = "Hosting Portal back office"
        admin.site.index_title = "What needs attention, and everything else"
        # The app list beside every page took 300 px of a 1280 px screen from the
        # lists staff work in; the home page and the breadcrumbs lead everywhere.
        admin.site.enable_nav_sidebar = False
