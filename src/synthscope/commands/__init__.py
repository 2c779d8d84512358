"""One module per command's job: options -> pipeline -> outputs. The CLI parses, calls these, renders."""
