"""Command-line interface: the only layer that prints, shows progress bars and exits."""
