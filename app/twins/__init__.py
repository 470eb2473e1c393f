"""Finding a twin: ranked, explained candidates; a city's search as a worked record;
the health of every twinning."""
