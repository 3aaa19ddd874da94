"""A real JupyterLab in a real browser: the server and browser fixtures.

The server runs on a free loopback port with a token, serving *copies* of the notebooks
(a browser session edits what it opens), with JupyterLab's news/update toast turned off,
every cell rendered (no windowing), and its settings, workspaces and runtime files in a
temporary folder. The browser is
Debian's Chromium driven by Playwright (``executable_path``; Playwright cannot download
browsers here). Both are stopped at the end, also when a test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
TOKEN = "pynest-test-token"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_missing_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python playwright is not installed (pip install playwright)"
    if not os.path.exists(CHROMIUM):
        return "chromium is not installed; install it with: apt-get install chromium"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(cmd: list[str], ready_url: str, *, env: dict, log_path: Path, timeout: float,
          cwd: Path | None = None):  # fmt: skip
    """Run a server (``cmd``) until ``ready_url`` answers, yield, then always stop it; if it
    dies or does not answer in ``timeout`` seconds, fail with the end of its log."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    urllib.request.urlopen(ready_url, timeout=5)
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(log_path.read_text()[-3000:]) from None
                    time.sleep(0.25)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


_LAB_SETTINGS = (
    ("apputils-extension", "notification", {"fetchNews": "false", "checkForUpdates": False}),
    # JupyterLab 4 renders only the cells in view by default; a test looks at all of them
    ("notebook-extension", "tracker", {"windowingMode": "none"}),
)


@contextlib.contextmanager
def jupyterlab(root: Path, home: Path, token: str = TOKEN) -> Iterator[str]:
    """A JupyterLab serving ``root`` on a free loopback port, its settings (no news, every
    cell rendered), workspaces, runtime files and log (``lab.log``) under ``home``; yields
    its base URL and stops it afterwards. Kernels keep the inline backend, as in a user's
    lab (MPLBACKEND is dropped)."""
    for ext, name, value in _LAB_SETTINGS:
        folder = home / "settings" / "@jupyterlab" / ext
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(value))
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
    )
    env.pop("MPLBACKEND", None)
    port = _free_port()
    with serve(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0"],
        f"http://127.0.0.1:{port}/api/status?token={token}",
        env=env, log_path=home / "lab.log", timeout=90,
    ):  # fmt: skip
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def lab_url(tmp_path_factory):
    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("lab-root")
    for nb in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(nb, root / nb.name)
    with jupyterlab(root, tmp_path_factory.mktemp("lab-home")) as url:
        yield url


def shutdown_kernels(base: str) -> int:
    """Stop every kernel of the server at ``base`` (JupyterLab keeps a notebook's kernel
    running after its page is closed); returns how many were stopped."""
    url = f"{base}/api/kernels?token={TOKEN}"
    with urllib.request.urlopen(url, timeout=10) as r:
        kernels = json.load(r)
    for k in kernels:
        req = urllib.request.Request(f"{base}/api/kernels/{k['id']}?token={TOKEN}", method="DELETE")
        urllib.request.urlopen(req, timeout=30).close()
    return len(kernels)


@pytest.fixture
def lab(lab_url):
    """The lab server, with every kernel a test started stopped afterwards, so thirteen
    notebooks' kernels do not pile up beside the later tests."""
    try:
        yield lab_url
    finally:
        shutdown_kernels(lab_url)


@pytest.fixture(scope="session")
def browser():
    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def browser_page(browser, width: int = 1400, height: int = 1000):
    """A fresh page in its own browser context with a ``width`` x ``height`` viewport."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser):
    with browser_page(browser) as pg:
        yield pg


@pytest.fixture
def laptop_page(browser):
    """A 1280x720 page: a small laptop screen, or a projector's."""
    with browser_page(browser, 1280, 720) as pg:
        yield pg
