"""How each person (or group) arrives and leaves, and the travel board of an event."""
