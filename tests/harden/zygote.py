"""Start many runtime server processes fast: a parent that has imported and warmed the
runtime once forks a child per start; each child runs ``copilotkit-runtime serve`` itself
(real process, real socket, real store), so ``kill -9`` on it is a real crash.

Protocol on stdin/stdout, one line each: ``serve CONFIG PORT LOG`` → the child's pid.
"""

from __future__ import annotations

import os
import signal
import sys


def main() -> None:
    from copilotkit_runtime import cli
    from copilotkit_runtime.server import create_app
    from copilotkit_runtime.testing import make_runtime

    create_app(make_runtime({"agents": {"demo": {"provider": "demo"}}}, load_entry_points=False))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    print("ready", flush=True)
    for line in sys.stdin:
        command, config, port, log = line.split()
        assert command == "serve"
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(0)
            os.setsid()
            code = 1
            try:
                code = cli.main(["--config", config, "serve", "--port", port])
            finally:
                os._exit(code)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
