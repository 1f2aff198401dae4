#!/usr/bin/env python3
"""Prints N TCP ports on 127.0.0.1 that are free now (bound to port 0 together, then released)."""
import socket, sys

sockets = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
print(" ".join(str(s.getsockname()[1]) for s in sockets))
for s in sockets:
    s.close()
