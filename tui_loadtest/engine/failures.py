"""Naming what went wrong with a request, in the kinds every table uses."""

from __future__ import annotations

import errno
import os
import socket
import ssl

from httptools import HttpParserError

# Errors of the machine running the load, never the target's: too many open files
# (the process's or the system's), no buffer space, no local address or port left.
GENERATOR_ERRNOS = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.EADDRNOTAVAIL, errno.ENOMEM}
)


def classify(exc: BaseException | None) -> tuple[str, str]:
    """``(kind, message)`` for an exception raised while connecting or exchanging."""
    if exc is None:
        return "reset", "connection closed by the server before a complete response"
    if isinstance(exc, socket.gaierror):
        return "dns", f"name resolution failed: {exc.strerror or exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls", f"certificate verification failed: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return "tls", f"TLS error: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return "reset", "connection reset by peer"
    if isinstance(exc, TimeoutError):
        return "timeout", str(exc) or "timed out"
    if isinstance(exc, HttpParserError):
        return "protocol", f"invalid HTTP response: {exc}"
    if isinstance(exc, OSError):
        if exc.errno in GENERATOR_ERRNOS:
            # Out of file descriptors, buffers or local ports: this machine's limit.
            text = exc.strerror or os.strerror(exc.errno or 0)
            return "generator", f"{text} (on the load generator, not the target)"
        if exc.errno == errno.ECONNREFUSED:
            return "refused", "connection refused"
        if exc.errno in (errno.ECONNRESET, errno.EPIPE):
            return "reset", "connection reset by peer"
        if exc.errno == errno.ETIMEDOUT:
            return "timeout", "connect timed out"
        text = exc.strerror or str(exc) or type(exc).__name__
        # asyncio joins several address attempts into one OSError message
        if "Connect call failed" in str(exc) and "111" in str(exc):
            return "refused", "connection refused"
        return "other", text
    return "other", f"{type(exc).__name__}: {exc}"
