"""An exchange's day-by-day programme: items within the event, for everyone, a role
or named people."""
