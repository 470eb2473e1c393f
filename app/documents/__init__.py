"""The exchange's papers: visa invitation letters, the delegation list and the
guardian consent form, as PDF (and the list as CSV)."""
