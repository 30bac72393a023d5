"""directories."""
