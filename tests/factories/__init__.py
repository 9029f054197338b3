"""Plain ``create_*`` functions that build test data through the real services."""
