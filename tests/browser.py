"""Headless Chromium over the DevTools protocol on a pipe (``--remote-debugging-pipe``), for the report's browser
test and its README screenshot.  No dependency: the protocol on a pipe is JSON messages ended by a NUL byte on file
descriptors 3 (to the browser) and 4 (from it), so there is no port, no websocket and no race for a free port.

    python tests/browser.py report.html shot.png      # a 1280x800 screenshot of the page's top

``open_page`` loads a file and records what the page did: console messages and errors, exceptions, log entries
(a refused request shows there) and every request it sent.  ``png_pixels`` decodes the screenshot (8-bit RGB or
RGBA, as Chromium writes it) so a test can count its colours.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe")
TIMEOUT = 60.0


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageRun:
    """What the page did while it loaded and was looked at."""

    url: str
    console: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def errors(self) -> list[str]:
        out = [f"console.{c.get('type')}: {c.get('args')}" for c in self.console if c.get("type") in ("error", "assert")]
        out += [f"exception: {e.get('exceptionDetails', {}).get('text')}" for e in self.exceptions]
        out += [f"log {e.get('entry', {}).get('level')}: {e.get('entry', {}).get('text')}" for e in self.log
                if e.get("entry", {}).get("level") in ("error", "warning")]
        return out


class Browser:
    """One headless Chromium; ``call`` sends a command and waits for its answer, collecting events meanwhile."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="wavegate-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Above 10, so neither end is already 3 or 4 (the redirections below would close it).
        to_browser_r, from_browser_w = (_above_ten(fd) for fd in (to_browser_r, from_browser_w))
        # bash (dash takes single-digit descriptors only) puts the pipe ends on 3 and 4, where Chromium looks.
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self.proc = subprocess.Popen(["bash", "-c", script, binary, *FLAGS, f"--user-data-dir={self.profile}"],
                                     pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next = 0
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        while True:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                self._inbox.put(None)
                return
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for m in messages:
                self._inbox.put(json.loads(m))

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session is not None:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._take(deadline, method)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._take(deadline, method)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _take(self, deadline: float, what: str) -> dict[str, Any]:
        try:
            item = self._inbox.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"no answer from Chromium to {what} in {TIMEOUT:.0f}s") from None
        if item is None:
            raise RuntimeError(f"Chromium closed the pipe while waiting for {what}")
        return item

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _above_ten(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


@dataclass
class Page:
    browser: Browser
    session: str
    run: PageRun

    def evaluate(self, expression: str) -> Any:
        res = self.browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                     "awaitPromise": True}, self.session)
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression[:80]}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, full_page: bool = False) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": size[0], "height": size[1],
                                                            "scale": 1})
        return base64.b64decode(self.browser.call("Page.captureScreenshot", params, self.session)["data"])

    def settle(self) -> PageRun:
        """Take the events that arrived so far into the page's record."""
        self.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")
        for e in self.browser.events:
            if e.get("sessionId") != self.session:
                continue
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled":
                self.run.console.append({"type": params.get("type"),
                                         "args": [a.get("value", a.get("description")) for a in params.get("args", [])]})
            elif method == "Runtime.exceptionThrown":
                self.run.exceptions.append(params)
            elif method == "Log.entryAdded":
                self.run.log.append(params)
            elif method == "Network.requestWillBeSent":
                self.run.requests.append(params.get("request", {}).get("url", ""))
        self.browser.events.clear()
        return self.run


def open_page(browser: Browser, path: Path, width: int = 1280, height: int = 800) -> Page:
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable", {}, session)
    browser.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                        "mobile": False}, session)
    browser.events.clear()  # about:blank's own events
    url = path.resolve().as_uri()
    browser.call("Page.navigate", {"url": url}, session)
    browser.wait_for("Page.loadEventFired")
    page = Page(browser, session, PageRun(url))
    page.settle()
    return page


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows of a non-interlaced 8-bit RGB or RGBA PNG, as raw bytes per row."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG: {depth=} {colour=} {interlace=}"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        _unfilter(kind, line, prev, bpp)
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> None:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = prev[i]
        if kind == 1:
            line[i] = (line[i] + left) & 255
        elif kind == 2:
            line[i] = (line[i] + up) & 255
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 255
        elif kind == 4:
            corner = prev[i - bpp] if i >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255


def colours(rows: list[bytes], bpp: int) -> tuple[int, float]:
    """Distinct colours, and the share of pixels that are not white."""
    seen: set[bytes] = set()
    ink = total = 0
    for line in rows:
        for i in range(0, len(line), bpp):
            px = line[i:i + 3]
            seen.add(px)
            total += 1
            ink += px != b"\xff\xff\xff"
    return len(seen), ink / total if total else 0.0


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    binary = chromium()
    if binary is None:
        print("no chromium found (apt-get install chromium)")
        return 1
    with Browser(binary) as browser:
        page = open_page(browser, Path(argv[1]))
        Path(argv[2]).write_bytes(page.screenshot())
        errors = page.settle().errors()
    print(f"wrote {argv[2]}" + (f"; page errors: {errors}" if errors else ""))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
