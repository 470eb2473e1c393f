"""iCalendar feeds: rendering (RFC 5545 / 7986), caching, private tokens, HTTP serving."""
