"""member_state."""
