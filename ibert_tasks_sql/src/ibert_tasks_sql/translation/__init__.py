"""translation tasks."""
