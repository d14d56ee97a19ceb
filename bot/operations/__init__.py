"""What the CLI's commands do, as library functions: each command parses, calls one, prints."""
