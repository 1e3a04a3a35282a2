"""A small, dependency-free harness that loads a self-contained HTML page in headless Chromium.

It talks the Chrome DevTools Protocol (CDP) over ``--remote-debugging-pipe``: Chromium reads
NUL-terminated JSON messages from its file descriptor 3 and writes its own to descriptor 4.
Only the standard library is used.

    from tests.browser import find_chromium, open_page

    with open_page("page.html", width=1280, height=900, timeout=60) as page:
        assert page.console_errors == []
        assert page.evaluate("document.querySelectorAll('math').length") == 1
        page.screenshot("first-screen.png")

API
---
``find_chromium() -> str | None``
    The Chromium (or Chrome) binary to use: ``$CHROMIUM`` if set, else the first of ``chromium``,
    ``chromium-browser``, ``google-chrome``, ``google-chrome-stable``, ``chrome``,
    ``chrome-headless-shell`` found on ``PATH``; ``None`` when there is none.
``open_page(path, width=1280, height=900, timeout=60) -> Page``
    A context manager.  On entry it launches a fresh browser (its own profile in a temporary folder),
    opens a tab of ``width`` x ``height`` CSS pixels, loads ``file://path``, waits for the load event,
    then settles (fonts ready and two animation frames, at most one second).  On exit, error or not,
    the whole browser process group is killed and the temporary folder removed.
``Page.console_errors -> list[str]``
    One string per problem seen so far: ``console.error/assert/warning`` calls, uncaught exceptions
    and unhandled rejections, ``Log`` entries of level error or warning (failed resource loads among
    them) and every request the page attempted to a non-local URL (anything but ``file:``, ``data:``,
    ``blob:``, ``about:``).  Such requests never reach the network: http(s) requests are failed
    through the ``Fetch`` domain and host names do not resolve.
``Page.evaluate(expression)``
    The value of a JavaScript expression (promises are awaited), returned by value (JSON-like).
    Raises ``JavaScriptError`` when it throws.
``Page.screenshot(path)``
    Writes a PNG of the first screen (the viewport) to ``path`` and returns the path.

Every wait on Chromium has a deadline (``timeout`` seconds); when it passes, ``BrowserTimeout`` is
raised (with the tail of Chromium's stderr), never a hang.  A browser that dies raises
``BrowserError``.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["find_chromium", "open_page", "Page", "BrowserError", "BrowserTimeout", "JavaScriptError"]

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome",
              "chrome-headless-shell")

# URL schemes that are not network requests.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:", "chrome-error:", "devtools:")

# Runs in the child before Chromium: moves the two pipe ends onto descriptors 3 and 4 (where
# --remote-debugging-pipe expects them), then execs the browser.  Going through a tiny trampoline
# avoids preexec_fn (unsafe in threaded parents such as pytest-xdist workers) and clobbering.
_TRAMPOLINE = """\
import fcntl, os, sys
r, w = int(sys.argv[1]), int(sys.argv[2])
hr, hw = fcntl.fcntl(r, fcntl.F_DUPFD, 10), fcntl.fcntl(w, fcntl.F_DUPFD, 10)
os.dup2(hr, 3)
os.dup2(hw, 4)
for fd in {r, w, hr, hw} - {3, 4}:
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


class BrowserError(RuntimeError):
    """Chromium failed: it could not start, it exited, or a CDP command returned an error."""


class BrowserTimeout(BrowserError):
    """Chromium did not answer a CDP command (or send an awaited event) before the deadline."""


class JavaScriptError(BrowserError):
    """The expression given to ``Page.evaluate`` threw."""


def find_chromium():
    """The path of a Chromium/Chrome binary, or None (``$CHROMIUM`` overrides the PATH search)."""
    env = os.environ.get("CHROMIUM")
    if env:
        return shutil.which(env)
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _is_local(url):
    return url.startswith(LOCAL_SCHEMES)


class Page:
    """One headless Chromium with one tab showing a local HTML file; use it as a context manager."""

    def __init__(self, path, width=1280, height=900, timeout=60, binary=None):
        self.path = Path(path).resolve()
        self.url = self.path.as_uri()
        self.width, self.height, self.timeout = int(width), int(height), float(timeout)
        self.binary = binary or find_chromium()
        self._errors = []
        self._requests = set()
        self._events = []        # events of our session not yet consumed by a wait
        self._replies = {}
        self._next_id = 0
        self._buffer = b""
        self._proc = None
        self._tmp = None
        self._rfd = self._wfd = None
        self._session = None
        self._stderr = None

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self):
        try:
            self._launch()
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _launch(self):
        if not self.binary:
            raise BrowserError("no Chromium found (looked for %s on PATH)" % ", ".join(CANDIDATES))
        if not self.path.is_file():
            raise FileNotFoundError(self.path)
        self._tmp = tempfile.mkdtemp(prefix="derive-chromium-")
        profile = os.path.join(self._tmp, "profile")
        os.mkdir(profile)
        args = [
            "--headless=new",
            "--no-sandbox",                 # tests run as root
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--user-data-dir=" + profile,
            "--remote-debugging-pipe",
            "--window-size=%d,%d" % (self.width, self.height),
            "--hide-scrollbars",
            "--mute-audio",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "--disable-breakpad",
            "--disable-crash-reporter",
            "--no-service-autorun",
            "--password-store=basic",
            "--use-mock-keychain",
            "--host-resolver-rules=MAP * ~NOTFOUND",   # second line of defence: no name resolves
            "about:blank",
        ]
        to_child_r, self._wfd = os.pipe()      # we write commands, Chromium reads them on fd 3
        self._rfd, from_child_w = os.pipe()    # Chromium writes on fd 4, we read
        self._stderr = open(os.path.join(self._tmp, "stderr.log"), "w+b")
        env = dict(os.environ, TMPDIR=self._tmp)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, str(to_child_r), str(from_child_w),
                 self.binary] + args,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
                pass_fds=(to_child_r, from_child_w), start_new_session=True, env=env, cwd=self._tmp)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        os.set_blocking(self._rfd, False)

    def _open(self):
        target = self.send("Target.createTarget", url="about:blank", session=False)["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target, flatten=True,
                                  session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Page.setLifecycleEventsEnabled", enabled=True)
        self.send("Runtime.enable")
        self.send("Log.enable")
        self.send("Network.enable")
        self.send("Fetch.enable", patterns=[{"urlPattern": "*"}])
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        self.send("Page.bringToFront")
        nav = self.send("Page.navigate", url=self.url)
        if nav.get("errorText"):
            raise BrowserError("navigating to %s failed: %s" % (self.url, nav["errorText"]))
        loader = nav.get("loaderId")
        self.wait_event(lambda m, p: m == "Page.lifecycleEvent" and p.get("name") == "load"
                        and p.get("loaderId") == loader, "the load event of %s" % self.url)
        self.evaluate("""new Promise(done => {
            setTimeout(done, 1000);
            const frames = () => requestAnimationFrame(() => requestAnimationFrame(done));
            (document.fonts ? document.fonts.ready : Promise.resolve()).then(frames, frames);
        })""")
        self._pump(0.1)

    def close(self):
        """Kill the browser (its whole process group) and remove the temporary folder; idempotent."""
        proc = self._proc
        if proc is not None and proc.poll() is None and self._wfd is not None:
            try:                        # a clean exit lets Chromium reap its own children
                self._post("Browser.close", {}, session=False)
                proc.wait(timeout=3)
            except (OSError, BrowserError, subprocess.TimeoutExpired):
                pass
        self._proc = None
        if proc is not None:
            try:                        # whatever is left of the process group
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for name in ("_rfd", "_wfd"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        tmp, self._tmp = self._tmp, None
        if tmp is not None:
            for _ in range(5):              # late-dying children may still write into the profile
                shutil.rmtree(tmp, ignore_errors=True)
                if not os.path.exists(tmp):
                    break
                time.sleep(0.1)

    # ----------------------------------------------------------------- public API
    @property
    def console_errors(self):
        """The errors and warnings seen so far (including ones that arrived since the last call)."""
        self._pump(0)
        return list(self._errors)

    def evaluate(self, expression):
        """Evaluate a JavaScript expression in the page; awaits promises; returns the value."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True, userGesture=True)
        details = result.get("exceptionDetails")
        if details:
            raise JavaScriptError("%s threw: %s" % (expression.strip()[:200], _exception_text(details)))
        return result.get("result", {}).get("value")

    def screenshot(self, path):
        """Write a PNG of the first screen (the viewport) to ``path``; return ``path``."""
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return path

    # ----------------------------------------------------------------- CDP plumbing
    def send(self, method, session=True, **params):
        """Send a CDP command (to the page session unless ``session=False``); return its result."""
        msg_id = self._post(method, params, session)
        deadline = time.monotonic() + self.timeout
        while msg_id not in self._replies:
            self._read(deadline, "the reply to %s" % method)
        reply = self._replies.pop(msg_id)
        if "error" in reply:
            raise BrowserError("%s failed: %s" % (method, reply["error"]))
        return reply.get("result", {})

    def wait_event(self, predicate, what):
        """Wait for (and consume) the first event of the page session with ``predicate(method, params)``."""
        deadline = time.monotonic() + self.timeout
        while True:
            for i, (method, params) in enumerate(self._events):
                if predicate(method, params):
                    del self._events[i]
                    return params
            self._read(deadline, what)

    def _post(self, method, params, session=True):
        if self._proc is None:
            raise BrowserError("the browser is closed")
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session and self._session:
            message["sessionId"] = self._session
        data = json.dumps(message).encode() + b"\0"
        deadline = time.monotonic() + self.timeout
        while data:
            if not select.select([], [self._wfd], [], max(0.0, deadline - time.monotonic()))[1]:
                raise BrowserTimeout("Chromium did not read %s within %gs%s" % (method, self.timeout,
                                                                                 self._stderr_tail()))
            try:
                data = data[os.write(self._wfd, data):]
            except BrokenPipeError:
                raise BrowserError("Chromium closed its pipe (it exited)%s" % self._stderr_tail()) from None
        return self._next_id

    def _pump(self, seconds):
        """Handle whatever arrives during ``seconds`` (0: only what is already there)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                got = self._read(deadline, None)
            except BrowserTimeout:
                return
            if not got and time.monotonic() >= deadline:
                return

    def _read(self, deadline, what):
        """Read one chunk (waiting until ``deadline``) and dispatch the complete messages in it."""
        remaining = deadline - time.monotonic()
        ready = select.select([self._rfd], [], [], max(0.0, remaining))[0] if self._rfd is not None else []
        if not ready:
            if remaining > 0 and self._rfd is not None:
                return False            # spurious wake-up
            raise BrowserTimeout("Chromium sent no %s within %gs%s" % (what or "message", self.timeout,
                                                                      self._stderr_tail()))
        try:
            chunk = os.read(self._rfd, 1 << 20)
        except BlockingIOError:
            return False
        if not chunk:
            code = self._proc.poll() if self._proc else None
            raise BrowserError("Chromium exited (status %s) while waiting for %s%s"
                               % (code, what or "a message", self._stderr_tail()))
        self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        for raw in messages:
            self._dispatch(json.loads(raw))
        return True

    def _dispatch(self, message):
        if "id" in message:
            self._replies[message["id"]] = message
            return
        if message.get("sessionId") != self._session or self._session is None:
            return
        method, params = message.get("method"), message.get("params", {})
        if method == "Fetch.requestPaused":
            url = params["request"]["url"]
            if _is_local(url):
                self._post("Fetch.continueRequest", {"requestId": params["requestId"]})
            else:
                self._request(url)
                self._post("Fetch.failRequest", {"requestId": params["requestId"], "errorReason": "BlockedByClient"})
            return                       # the replies land in _replies, unread; harmless
        if method == "Network.requestWillBeSent":
            if not _is_local(params["request"]["url"]):
                self._request(params["request"]["url"])
        elif method == "Network.webSocketCreated":
            self._request(params["url"])
        elif method == "Runtime.consoleAPICalled":
            if params.get("type") in ("error", "assert", "warning"):
                text = " ".join(_remote_text(arg) for arg in params.get("args", []))
                self._errors.append("console.%s: %s%s" % (params["type"], text, _where(params.get("stackTrace"))))
        elif method == "Runtime.exceptionThrown":
            self._errors.append("exception: %s" % _exception_text(params["exceptionDetails"]))
        elif method == "Log.entryAdded":
            entry = params["entry"]
            if entry.get("level") in ("error", "warning"):
                where = " (%s)" % entry["url"] if entry.get("url") else ""
                self._errors.append("log.%s [%s]: %s%s" % (entry["level"], entry.get("source"),
                                                           entry.get("text"), where))
        elif method in ("Inspector.targetCrashed", "Inspector.detached"):
            raise BrowserError("the page %s: %s" % ("crashed" if method.endswith("Crashed") else "detached", params))
        self._events.append((method, params))
        if len(self._events) > 10000:    # nobody waits for most events; keep memory bounded
            del self._events[:5000]

    def _request(self, url):
        if url not in self._requests:
            self._requests.add(url)
            self._errors.append("network request: %s" % url)

    def _stderr_tail(self):
        if self._stderr is None:
            return ""
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            tail = self._stderr.read()[-2000:].decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return "\n--- chromium stderr (tail) ---\n" + tail if tail else ""


def _remote_text(obj):
    if "value" in obj:
        value = obj["value"]
        return value if isinstance(value, str) else json.dumps(value)
    return obj.get("description") or obj.get("unserializableValue") or obj.get("type", "?")


def _where(stack):
    frames = (stack or {}).get("callFrames") or []
    if not frames:
        return ""
    f = frames[0]
    return " (%s:%s:%s)" % (f.get("url") or "<inline>", f.get("lineNumber", 0) + 1, f.get("columnNumber", 0) + 1)


def _exception_text(details):
    text = details.get("text") or "Uncaught"
    description = (details.get("exception") or {}).get("description")
    if description:
        text = "%s %s" % (text, description)
    if "\n    at " in text:          # the description carries a stack trace
        return text
    return "%s (%s:%s:%s)" % (text, details.get("url") or "<inline>", details.get("lineNumber", 0) + 1,
                              details.get("columnNumber", 0) + 1)


def open_page(path, width=1280, height=900, timeout=60):
    """Launch Chromium, load ``path`` and return the ``Page`` (use it in a ``with`` statement)."""
    return Page(path, width=width, height=height, timeout=timeout)
