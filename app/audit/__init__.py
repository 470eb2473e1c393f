"""The data audit: every write to the domain's tables, who made it, and the fields
before and after (``GET /api/v1/audit``). The *access* audit (sign-ins, keys,
invitations) is ``app.accounts``' ``access_event``; this one is about the data."""
