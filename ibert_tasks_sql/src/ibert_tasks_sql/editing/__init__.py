"""editing tasks."""
