"""Demo district tests."""
