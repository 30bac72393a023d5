"""french_node."""
