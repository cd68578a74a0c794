"""One request at a time per browser session: a second click while one runs gets a message, not a queue."""

import contextlib
import threading


class BusyError(Exception):
    """The session already has a request running."""


class OneAtATime:
    """Remembers which sessions have a request running.

    Example:
        >>> guard = OneAtATime()
        >>> with guard.hold("session-1"):
        ...     pass
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._running = set()

    @contextlib.contextmanager
    def hold(self, session):
        """Run the body for `session`, or raise BusyError if that session already runs one."""
        with self._lock:
            if session in self._running:
                raise BusyError("Still working on your previous click: wait for its result (or press Stop) "
                                "and click again.")
            self._running.add(session)
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(session)
