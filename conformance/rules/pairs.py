"""Cross-message checks (placeholder module; filled by the pairs work)."""
