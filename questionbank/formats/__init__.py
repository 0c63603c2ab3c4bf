"""Date formats per language (settings.FORMAT_MODULE_PATH), where the site's own differ
from Django's: Django's are used for everything not set here."""
