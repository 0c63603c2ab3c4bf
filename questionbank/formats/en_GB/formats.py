# The site's British English date and time, as the pages showed them before translation
# ("1 Dec 2026 14:05"); Django's en_GB default would be "1 Dec 2026, 2:05 p.m.".
DATETIME_FORMAT = "j M Y H:i"
