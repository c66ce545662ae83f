"""The back-office admin site: its branding and the read-only base used by ledger-like lists."""

from django.contrib import admin

SITE_TITLE = "commerce-hq back office"


def brand(site: admin.AdminSite) -> None:
    site.site_header = SITE_TITLE
    site.site_title = SITE_TITLE
    site.index_title = "Gift cards, credit memos, parameters and stores"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: listed and viewed, never added, edited or deleted here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


brand(admin.site)
