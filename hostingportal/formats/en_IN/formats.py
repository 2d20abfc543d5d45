# Dates as people in India write them, on every page and in the admin:
# "1 Dec 2026" and "1 Dec 2026, 17:39" (Django's fallback for en-in is "Dec. 1, 2026, 5:39 p.m.").
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
FIRST_DAY_OF_WEEK = 1  # Monday
