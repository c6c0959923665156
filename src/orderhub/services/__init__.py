"""Use cases. Each handler opens the unit of work it needs and commits once."""
