"""HQ's operations CLI, for the demo and the simulator: what the POS API cannot do (switch a
parameter, run a distribution job, make an activation code) is done by running
``python manage.py ...`` where the server is installed."""

from __future__ import annotations

import shlex
import subprocess
import sys

from .errors import PosClientError


class HqCommandError(PosClientError):
    pass


class ManageCommands:
    """Runs ``command`` (default: this Python with ``manage.py`` in the current directory)."""

    def __init__(self, command: str | None = None, *, timeout: float = 300.0) -> None:
        self.argv = shlex.split(command) if command else [sys.executable, "manage.py"]
        self.timeout = timeout

    def run(self, *args: str) -> str:
        try:
            done = subprocess.run(
                [*self.argv, *args], capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HqCommandError(f"`{shlex.join([*self.argv, *args])}` could not run: {exc}") from exc
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip().splitlines()
            raise HqCommandError(f"`{shlex.join(args)}` failed: {message[-1] if message else done.returncode}")
        return done.stdout

    def set_parameter(self, name: str, value: str, *, legal_entity: str) -> None:
        self.run("set_parameter", name, value, "--legal-entity", legal_entity)

    def run_job(self, code: str) -> None:
        self.run("run_job", code)

    def create_activation_code(self, register: str, channel: str | None = None) -> str:
        args = ["create_activation_code", "--register", register]
        if channel:
            args += ["--channel", channel]
        lines = self.run(*args).strip().splitlines()
        if not lines:
            raise HqCommandError("create_activation_code printed no code")
        return lines[-1].strip()
