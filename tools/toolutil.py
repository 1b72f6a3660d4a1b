"""toolutil.py - small helpers the scripts in tools/ share (import toolutil: tools/ is the script's folder)."""
import socket


def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1"):
    """A port free on host right now (the kernel's pick; never 6379 or 6380, which a real Redis may want)."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in (6379, 6380):
            return port
