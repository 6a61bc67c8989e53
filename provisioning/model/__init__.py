"""Pure model of what the suite provisions and expects: no I/O, no client imports."""
