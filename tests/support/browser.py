"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by Selenium.

Nothing is downloaded: the browser and its driver come from the system packages, axe-core
from ``tests/support/axe/``. Chromium starts with the flags that keep it off the network
(no background networking, component updates or sync) and a fresh profile. Every call is
blocking: tests run them in a thread (``asyncio.to_thread``) so the bot keeps serving.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = Path(__file__).parent / "axe" / "axe.min.js"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
ARTEFACTS = Path(__file__).resolve().parents[2] / "data" / "test-artefacts"

_RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']})
  .then(result => done(result.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))))
  .catch(error => done([{id: 'axe-error', impact: 'critical', help: String(error), targets: []}]));
"""


class Browser:
    def __init__(self, profile: Path, downloads: Path) -> None:
        options = Options()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": str(downloads),
                "download.prompt_for_download": False,
            },
        )
        self.downloads = downloads
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_script_timeout(60)
        self.driver.set_page_load_timeout(30)

    def close(self) -> None:
        self.driver.quit()

    def viewport(self, width: int, height: int) -> None:
        """Emulate a screen of exactly this CSS size (a 360 px phone, a desktop)."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )

    def get(self, url: str) -> None:
        self.driver.get(url)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def screenshot(self, name: str) -> Path:
        """The whole page as a PNG under ``data/test-artefacts/`` (kept after the run)."""
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path = ARTEFACTS / name
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def accessibility_violations(self) -> list[dict[str, Any]]:
        """axe-core's violations on the current page (injected through the driver)."""
        self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        return list(self.driver.execute_async_script(_RUN_AXE))

    def downloaded(self, name: str, timeout: float = 15) -> bytes:
        """The file the browser saved as ``name`` (waits until it is complete)."""
        path = self.downloads / name

        def complete(_: Any) -> bool:
            return path.exists() and not any(self.downloads.glob("*.crdownload"))

        try:
            WebDriverWait(self.driver, timeout).until(complete)
        except TimeoutException:
            raise AssertionError(f"{name} was not downloaded within {timeout} s") from None
        return path.read_bytes()
