"""iCalendar feeds: rendering (RFC 5545 / 7986), caching, private tokens, HTTP serving.

Kept import-light: ``app.cities.models`` imports ``app.calendars.urls`` for the
``feed_url`` fields, so nothing here may import a domain package at load time.
"""
