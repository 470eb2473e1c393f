"""Host families, the guests' needs, and the placement of guests with families."""
