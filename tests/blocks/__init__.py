"""Block shape rules and parameter counts, checked against torch itself."""
