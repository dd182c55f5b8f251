"""A throw-away Kannel for tests: bearerbox, smsbox and fakesmsc on 127.0.0.1, free ports, a temp dir.

    inbound = KannelClient().webhook_url("inbound", odoo_inbound_url)
    with Kannel(inbound_url=inbound, inbound_method="post") as k:
        KannelClient(api_url=k.api_url, username=k.username, password=k.password, dlr_url=...).send(...)
        k.wait_received(1, to="+4512345678")  # what the fake SMSC got: [Received(sender, to, kind, text)]
        k.send_mo("+4512345678", "Ja tak")    # a patient's reply: smsbox calls inbound_url

Needs the Debian packages ``kannel`` (bearerbox, smsbox) and ``kannel-extras`` (fakesmsc).

What the fake SMSC does about delivery reports (Kannel 1.4.5, gw/smsc/smsc_fake.c): once it has
written a message to fakesmsc it reports it accepted by the SMSC (dlr-url status 8, ``%A`` =
"ACK/") and then delivered (status 1), with no real receipt from fakesmsc behind either. One pair
per message (a multi-part message gets one pair, not one per part); smsbox calls the two URLs
concurrently, so they arrive in either order. It never reports 2, 4 or 16. A test can rely on one
8 and one 1 per message sent with dlr-mask 31 (any mask with 1 and 8) while fakesmsc is connected.

fakesmsc speaks a line protocol (``sender receiver text|ucs2|data|udh… payload``): a text with a
newline reaches it as two lines, and a reply injected with :meth:`Kannel.send_mo` must fit in the
256-byte line fakesmsc reads from its stdin. fakesmsc looks at its socket about once a second, so
:meth:`Kannel.wait_received` may take that long; reports and replies come at once.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
INSTALL_HINT = "apt-get install kannel kannel-extras"

_GOT = re.compile(r"Got message \d+: <(.*)>$")
_SENT = re.compile(r"fakesmsc: sent message (\d+)")


class KannelError(RuntimeError):
    """Kannel is missing or did not come up."""


@dataclass(frozen=True)
class Received:
    """One message fakesmsc received (one part of a multi-part message)."""

    sender: str
    to: str
    kind: str  # text, ucs-2, data or udh
    text: str  # decoded; for udh parts the payload read as UTF-8 (UCS-2 parts stay unreadable)
    udh: bytes = b""


def _parse_received(line: str) -> Received | None:
    fields = line.split(" ", 3)
    if len(fields) < 4:
        return None
    sender, to, kind, payload = fields
    if kind == "text":
        return Received(sender, to, kind, payload)
    if kind == "ucs-2":
        return Received(
            sender,
            to,
            kind,
            unquote_to_bytes(payload.replace("+", " ")).decode("utf-16-be", errors="replace"),
        )
    if kind == "data":
        return Received(
            sender, to, kind, unquote_to_bytes(payload.replace("+", " ")).decode("utf-8", errors="replace")
        )
    if kind == "udh":
        udh, _, data = payload.partition(" data ")
        text = unquote_to_bytes(data.replace("+", " ")).decode("utf-8", errors="replace")
        return Received(sender, to, kind, text, unquote_to_bytes(udh))
    return None


def _free_ports(count: int) -> list[int]:
    """Ports nothing listens on now. Held open together so they differ; the tiny race with other
    processes before Kannel binds them only shows as a start-up error."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _die_with_parent():
    """Children get SIGTERM when the process that started them dies (even by SIGKILL): no orphan
    Kannel keeps ports busy after a crashed test run. Linux only; elsewhere stop() must run. (The
    kernel means the starting *thread*: start Kannel from a thread that outlives it, e.g. the main one.)"""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Kannel:
    """bearerbox + smsbox + fakesmsc, configured in a temp dir; ``start()``/``stop()`` or ``with``.

    :param inbound_url: the sms-service URL replies go to (Kannel escapes such as ``%p`` allowed);
        empty: replies are dropped.
    :param inbound_method: "get" (get-url) or "post" (post-url with send-sender = true).
    :param mo_recode: smsbox's mo-recode (UCS-2 replies recoded to UTF-8 before they are passed on).

    Attributes once started: ``api_url`` (smsbox, for ``KannelClient(api_url=...)``),
    ``sendsms_url``, ``username``, ``password``, ``status_url`` (bearerbox's status page),
    ``workdir`` (config and logs; removed by ``stop()``).
    """

    def __init__(
        self,
        inbound_url: str = "",
        *,
        inbound_method: str = "get",
        mo_recode: bool = True,
        username: str = "clinic",
        password: str | None = None,
        start_timeout: float = 15.0,
    ):
        if inbound_method not in ("get", "post"):
            raise ValueError("inbound_method is 'get' or 'post'")
        self.inbound_url = inbound_url
        self.inbound_method = inbound_method
        self.mo_recode = mo_recode
        self.username = username
        self.password = password or secrets.token_hex(8)
        self.start_timeout = start_timeout
        self.workdir: Path | None = None
        self._procs: dict[str, subprocess.Popen] = {}
        self._lines: list[str] = []
        self._received: list[Received] = []
        self._mo_sent = 0
        self._changed = threading.Condition()
        self._mo_lock = threading.Lock()

    # --- life cycle ----------------------------------------------------------------------------

    def __enter__(self) -> Kannel:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> Kannel:
        if self._procs:
            raise KannelError("This Kannel is running already.")
        missing = [path for path in (BEARERBOX, SMSBOX, FAKESMSC) if not os.access(path, os.X_OK)]
        if missing:
            raise KannelError(f"Kannel is not installed ({', '.join(missing)} missing): {INSTALL_HINT}")
        self.workdir = Path(tempfile.mkdtemp(prefix="kannel-"))
        self.admin_port, self.box_port, self.smsc_port, self.sendsms_port = _free_ports(4)
        self.status_password = secrets.token_hex(8)
        self.api_url = f"http://127.0.0.1:{self.sendsms_port}"
        self.sendsms_url = f"{self.api_url}/cgi-bin/sendsms"
        self.status_url = f"http://127.0.0.1:{self.admin_port}/status.txt?password={self.status_password}"
        config = self.workdir / "kannel.conf"
        config.write_text(self._config())
        atexit.register(self.stop)
        try:
            self._spawn("bearerbox", [BEARERBOX, "-v", "1", str(config)])
            self._wait(lambda: _port_open(self.admin_port) and _port_open(self.smsc_port), "bearerbox")
            self._spawn("smsbox", [SMSBOX, "-v", "1", str(config)])
            # -i 0: no pause between injected replies; -v 0: it logs what it receives at debug level.
            self._spawn(
                "fakesmsc",
                [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port), "-i", "0", "-v", "0"],
                pipe=True,
            )
            self._wait(self._ready, "smsbox and fakesmsc")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the three processes (SIGTERM, then SIGKILL after 5 s) and remove the temp dir."""
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            proc = self._procs.pop(name, None)
            if proc is None:
                continue
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdin:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        atexit.unregister(self.stop)

    def _spawn(self, name: str, argv: list[str], pipe: bool = False) -> None:
        """Start one box; bearerbox and smsbox log to a file, fakesmsc's output is read live."""
        log = self.workdir / f"{name}.log"
        # The child keeps its own copy of the log file's descriptor; ours is closed at once.
        with contextlib.nullcontext(subprocess.PIPE) if pipe else log.open("wb") as out:
            proc = subprocess.Popen(
                argv,
                cwd=self.workdir,
                stdin=subprocess.PIPE if pipe else subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C meant for pytest does not hit Kannel first
                preexec_fn=_die_with_parent,
                **({"text": True, "encoding": "utf-8", "errors": "replace", "bufsize": 1} if pipe else {}),
            )
        self._procs[name] = proc
        if pipe:
            threading.Thread(target=self._read_fakesmsc, args=(proc,), daemon=True).start()

    def _wait(self, condition, what: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise KannelError(f"{name} exited with {proc.returncode}.\n{self.logs()}")
            if condition():
                return
            time.sleep(0.05)
        raise KannelError(f"{what} not ready after {self.start_timeout:g} s.\n{self.logs()}")

    def status(self) -> str:
        """bearerbox's status page (text), or "" when it does not answer."""
        try:
            with urllib.request.urlopen(self.status_url, timeout=1) as response:
                return response.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _ready(self) -> bool:
        # The SMSC line says "(online Ns, ..." once fakesmsc is connected; the box list names
        # the smsbox once it is; smsbox opens its sendsms port after connecting to bearerbox.
        status = self.status()
        return "smsbox:" in status and "(online" in status and _port_open(self.sendsms_port)

    def logs(self, tail: int = 30) -> str:
        """The last lines of each process's output, for error messages."""
        parts = []
        for name in ("bearerbox", "smsbox"):
            path = self.workdir and self.workdir / f"{name}.log"
            if path and path.exists():
                lines = path.read_text(errors="replace").splitlines()[-tail:]
                parts.append(f"--- {name}\n" + "\n".join(lines))
        with self._changed:
            parts.append("--- fakesmsc\n" + "".join(self._lines[-tail:]))
        return "\n".join(parts)

    def _config(self) -> str:
        if not self.inbound_url:
            inbound = 'text = ""\n'
        elif self.inbound_method == "get":
            inbound = f'get-url = "{self.inbound_url}"\n'
        else:
            inbound = f'post-url = "{self.inbound_url}"\nsend-sender = true\n'
        return f"""\
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = {secrets.token_hex(8)}
status-password = {self.status_password}
smsbox-port = {self.box_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {self.smsc_port}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
mo-recode = {"true" if self.mo_recode else "false"}

group = sendsms-user
username = {self.username}
password = {self.password}
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
{inbound}"""

    # --- the fake SMSC -------------------------------------------------------------------------

    def _read_fakesmsc(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            with self._changed:
                self._lines.append(line)
                got = _GOT.search(line.rstrip("\n"))
                if got and (received := _parse_received(got.group(1))):
                    self._received.append(received)
                sent = _SENT.search(line)
                if sent:
                    self._mo_sent = int(sent.group(1))
                self._changed.notify_all()

    def received(self) -> list[Received]:
        """The messages fakesmsc has received so far (fakesmsc reads its socket about once a second)."""
        with self._changed:
            return list(self._received)

    def wait_received(self, count: int, timeout: float = 5.0, to: str | None = None) -> list[Received]:
        """The received messages (only those sent ``to`` a number, if given) once there are at
        least ``count``; KannelError after ``timeout``."""

        def matching():
            return [m for m in self._received if to is None or m.to == to]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matching()) >= count, timeout):
                raise KannelError(f"fakesmsc received {len(matching())} messages, not {count}.")
            return matching()

    def send_mo(self, number: str, text: str, to: str = "1234", timeout: float = 5.0) -> None:
        """A patient (``number``) texts ``text`` to the clinic (``to``): fakesmsc hands it to bearerbox,
        smsbox calls ``inbound_url``. Plain ASCII goes as text, anything else as UCS-2 like a phone."""
        if not number or not to or " " in number + to:
            raise ValueError("number and to need to be non-empty and without spaces")
        if text and all(32 <= ord(ch) < 127 for ch in text):
            line = f"{number} {to} text {text}\n"
        else:
            line = f"{number} {to} ucs2 {quote(text.encode('utf-16-be'), safe='')}\n"
        if len(line.encode("utf-8")) > 255:  # fakesmsc's fgets() buffer: longer lines get split
            raise ValueError(f"fakesmsc takes lines up to 255 bytes; this reply needs {len(line)}")
        proc = self._procs.get("fakesmsc")
        if proc is None:
            raise KannelError("Kannel is not running.")
        # One line at a time, and wait until fakesmsc says it sent it: its stdio buffer would
        # otherwise swallow a second line until more input comes.
        with self._mo_lock, self._changed:
            expected = self._mo_sent + 1
            proc.stdin.write(line)
            proc.stdin.flush()
            if not self._changed.wait_for(lambda: self._mo_sent >= expected, timeout):
                raise KannelError(f"fakesmsc did not send the reply within {timeout:g} s.\n{self.logs()}")
