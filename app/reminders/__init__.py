"""World Twin Cities Day, reminder rules, and when each reminder is due."""
