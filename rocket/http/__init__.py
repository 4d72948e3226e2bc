"""Sans-I/O HTTP/1.1: bytes in, events out. No socket, thread or selector lives here."""
