"""A file written whole or not at all: the tools write their outputs through a temporary file beside
the target and rename it into place, so that an interrupt, a full disk or any error never leaves a
partial checkpoint or tokenizer where a user would load it. Standard library only."""
import contextlib
import os
import signal
import tempfile


@contextlib.contextmanager
def replace_atomically(path):
    """Yields a binary file to write; when the block ends normally the data is flushed to disk and the
    file renamed over path. On any exception (KeyboardInterrupt included) it is removed, path is left
    as it was, and the exception goes on."""
    # Ctrl-C held back while the temporary file is made, so that it cannot land between its creation
    # and the try that removes it (where POSIX lets a process hold a signal back; it arrives after)
    hold = hasattr(signal, "pthread_sigmask")
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if hold else None
    tmp = None
    try:
        try:
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                                       prefix=f".{os.path.basename(path)}.", suffix=".tmp")
        finally:
            if hold:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as open() would have made it, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            yield f
            try:
                f.flush()
                os.fsync(f.fileno())
            except OSError as e:  # the disk filled up with the last bytes: name the file asked for
                raise OSError(e.errno, e.strerror, path) from None
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        raise
