from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Back office"

    def ready(self):
        from django.contrib import admin

        admin.site.site_header = "Hosting Portal back office"
        admin.site.site_title = "Hosting Portal back office"
        admin.site.index_title = "What needs attention, and everything else"
