"""A program in any language as the checker sees it: started once, sent one case per line of
JSON on its standard input, read one answer per line from its standard output
(``docs/check-protocol.md``), and stopped, its whole process group, when done or stuck."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque
from types import TracebackType
from typing import IO, Any

from digitnet.errors import AnswerError, CheckError, ProgramFailedError
from digitnet.testing.cases import Case
from digitnet.testing.compare import as_shape
from digitnet.testing.expected import ANSWER_KEYS, Answer

__all__ = ["ProgramImplementation"]

#: The longest answer line read; a case's answer is a few kilobytes.
MAX_LINE = 1 << 20
#: How much of the program's standard error is kept, to quote when it fails.
STDERR_TAIL = 2000
#: How long a program may take to exit after its input is closed.
EXIT_GRACE = 1.0


def _read_lines(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    """Puts each line of ``stream`` on ``lines``, then ``None`` at its end."""
    try:
        while line := stream.readline(MAX_LINE):
            lines.put(line)
    except (OSError, ValueError):
        pass
    lines.put(None)


def _read_stderr(stream: Any, tail: deque[bytes]) -> None:
    """Keeps the last ``STDERR_TAIL`` bytes or so of ``stream`` in ``tail``."""
    kept = 0
    try:
        while chunk := stream.read1(4096):
            tail.append(chunk)
            kept += len(chunk)
            while kept > STDERR_TAIL and len(tail) > 1:
                kept -= len(tail.popleft())
    except (OSError, ValueError):
        pass


def _describe_exit(code: int) -> str:
    """``exited with status 3`` or ``was killed by signal SIGSEGV``; shells report a child's
    signal as status 128 + n."""
    number = -code if code < 0 else code - 128 if 128 < code < 128 + 65 else None
    if number is not None:
        try:
            return f"was killed by signal {signal.Signals(number).name} (exit status {code})"
        except ValueError:
            pass
    return f"exited with status {code}"


class ProgramImplementation:
    """The program ``command`` (run by the shell), answering cases as JSON lines.

    It has ``startup_timeout`` seconds for its first answer (interpreters and JIT compilers
    start slowly) and ``timeout`` for each answer after that; a program that misses the limit,
    exits, or prints something that is not a JSON object raises
    :class:`~digitnet.errors.ProgramFailedError` and is stopped; the next case starts it again,
    unless it hung.
    """

    def __init__(self, command: str, timeout: float = 10.0, startup_timeout: float = 30.0) -> None:
        if not command.strip():
            raise ValueError("command: is empty")
        if not (timeout > 0 and startup_timeout > 0):
            raise ValueError("timeout and startup_timeout: must be positive numbers of seconds")
        self.command, self.timeout, self.startup_timeout = command, timeout, startup_timeout
        self.name = command
        self._process: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._stderr: deque[bytes] = deque()
        self._answered = 0
        #: Whether the program got stuck: it is not restarted then.
        self.hung = False

    def __enter__(self) -> ProgramImplementation:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[bytes]:
        try:
            process = subprocess.Popen(
                self.command,
                shell=True,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=os.name == "posix",  # its own group, to stop its children too
            )
        except OSError as error:
            raise CheckError(f"cannot run {self.command!r}: {error}") from error
        self._lines = queue.Queue()
        self._stderr = deque()
        self._answered = 0
        assert process.stdout is not None
        assert process.stderr is not None
        # Each process gets its own queue and buffer: a stopped one's reader cannot reach them.
        lines, tail = self._lines, self._stderr
        threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
        threading.Thread(target=_read_stderr, args=(process.stderr, tail), daemon=True).start()
        self._process = process
        return process

    def _stderr_tail(self) -> str:
        text = b"".join(self._stderr).decode("utf-8", "replace")[-STDERR_TAIL:].strip()
        return text.splitlines()[-1][:300] if text else ""

    def close(self) -> None:
        """Closes the program's input, gives it a moment to exit, then stops its process group."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(EXIT_GRACE)
        self._kill(process)

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        try:
            if os.name == "posix":
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def _fail(self, process: subprocess.Popen[bytes], what: str) -> ProgramFailedError:
        self._kill(process)
        self._process = None
        said = self._stderr_tail()
        message = f"the program {what}" + (f"; its last words: {said}" if said else "")
        return ProgramFailedError(message, hung=self.hung)

    def answer(self, case: Case) -> Answer:
        """The program's answer to ``case``, starting the program if it is not running."""
        if self.hung:
            raise ProgramFailedError("the program is not restarted after it hung", hung=True)
        process = self._process or self._start()
        assert process.stdin is not None
        try:
            process.stdin.write(case.to_json_line().encode() + b"\n")
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it has exited: its exit status is read below
        limit = self.startup_timeout if self._answered == 0 else self.timeout
        deadline = time.monotonic() + limit
        try:
            line = self._lines.get(timeout=limit)
        except queue.Empty:
            self.hung = True
            raise self._fail(process, f"gave no answer within {limit:g} s (stopped it)") from None
        if line is None:
            try:
                code = process.wait(max(0.0, deadline - time.monotonic()) + EXIT_GRACE)
            except subprocess.TimeoutExpired:
                raise self._fail(process, "closed its output without answering") from None
            if self._answered == 0 and code in (126, 127):
                self._kill(process)
                self._process = None
                raise CheckError(
                    f"cannot run {self.command!r}: {self._stderr_tail() or 'not found'}"
                )
            raise self._fail(process, f"{_describe_exit(code)} instead of answering")
        self._answered += 1
        return self._parse(process, line, case)

    def _parse(self, process: subprocess.Popen[bytes], line: bytes, case: Case) -> Answer:
        text = line.decode("utf-8", "replace").strip()
        if not line.endswith(b"\n") and len(line) >= MAX_LINE:
            raise self._fail(process, f"printed a line longer than {MAX_LINE} bytes")
        try:
            reply = json.loads(text)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            shown = text if len(text) <= 80 else text[:77] + "..."
            raise self._fail(
                process,
                f"printed {shown!r}, which is not a JSON object (debugging output belongs on "
                "standard error)",
            )
        if "error" in reply:
            raise AnswerError("exception", f"the program answered with an error: {reply['error']}")
        missing = [key for key in ANSWER_KEYS[case.method] if key not in reply]
        if missing:
            raise AnswerError(
                "malformed",
                f"the answer to {case.method} lacks {', '.join(map(repr, missing))} "
                f"(it has {', '.join(map(repr, reply)) or 'nothing'})",
            )
        return _arrays(case, reply)


def _arrays(case: Case, reply: dict[str, Any]) -> Answer:
    sizes, m = case.sizes, case.x.shape[0]
    weights: list[tuple[int, ...]] = [(y, x) for x, y in itertools.pairwise(sizes)]
    vectors: list[tuple[int, ...]] = [(y,) for y in sizes[1:]]
    if case.method in ("feedforward", "cost_derivative"):
        return {"output": [as_shape("output", reply["output"], (m, sizes[-1]))]}
    if case.method == "evaluate":
        return {"correct": [as_shape("correct", [reply["correct"]], (1,))]}
    names = ANSWER_KEYS[case.method]
    shapes = (vectors, weights) if case.method == "backprop" else (weights, vectors)
    out: Answer = {}
    for name, expected in zip(names, shapes, strict=True):
        value: Any = reply[name]
        if not isinstance(value, list) or len(value) != len(expected):
            count = len(value) if isinstance(value, list) else type(value).__name__
            raise AnswerError(
                "shape", f"{name} holds {count} arrays, expected {len(expected)} (one per layer)"
            )
        out[name] = [
            as_shape(f"{name}[{i}]", v, s)
            for i, (v, s) in enumerate(zip(value, expected, strict=True))
        ]
    return out
