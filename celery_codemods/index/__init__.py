"""The index pass: facts per module, read with the stdlib ``ast``."""
