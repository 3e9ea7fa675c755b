"""The local page as a user meets it: `xlpipeline web` started as a real process (its own home
folder, so its settings, recent list and keyring stay in the test), and Debian's chromium driven
through chromedriver (Selenium), at 1366×768."""
from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import missing

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CJK = re.compile(r"[\u4e00-\u9fff]")


class Server:
    """One run of `xlpipeline web TARGET --no-browser` in a home folder of its own."""

    def __init__(self, target: Path, home: Path, *extra: str):
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.env = self.environment(home)
        self.process = subprocess.Popen([sys.executable, "-m", "xlpipeline", "web", str(target), "--no-browser", *extra],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, text=True)
        self.url = self.process.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.process.stderr.read()
        self.port = int(self.url.split(":")[2].split("/")[0])
        self.token = self.url.split("token=")[1]
        self.base = f"http://127.0.0.1:{self.port}"

    @staticmethod
    def environment(home: Path) -> dict:
        """The environment of a user whose home is `home` (settings, keyring and desktop there)."""
        env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_DATA_HOME": str(home / ".local/share"),
               "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
        for variable in ("APPDATA", "XLP_SMTP_HOST", "XLP_MAIL_FROM", "XLP_SMTP_PASSWORD"):
            env.pop(variable, None)
        return env

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None,
                token: bool = True) -> tuple[int, str, dict]:
        """One HTTP request as a browser (or an attacker) would send it; (status, text, headers)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": f"127.0.0.1:{self.port}", **({"Cookie": f"xlpipeline={self.token}"} if token else {}),
                **(headers or {})}
        connection.request(method, path, body=body, headers=sent)
        answer = connection.getresponse()
        text = answer.read().decode("utf-8", "replace")
        connection.close()
        return answer.status, text, dict(answer.getheaders())

    def csrf(self) -> str:
        return re.search(r'name="csrf" content="([^"]+)"', self.request("GET", "/workbook")[1]).group(1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Ctrl+C
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()
        return self.process.returncode


def browser(profile: Path, downloads: Path):
    """Headless chromium at 1366×768 that saves downloads into `downloads` without asking."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        missing("chromium 与 chromium-driver 未安装（Debian 软件包 chromium、chromium-driver）")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1366,768",
                     "--lang=zh-CN"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(1366, 768)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    return driver


def wait_for(condition, timeout: float = 60, what: str = ""):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"等待超时：{what}")


def downloaded(folder: Path, suffix: str, timeout: float = 30) -> Path:
    """The file with `suffix` that the browser finished saving into `folder`."""
    def done():
        files = [p for p in folder.glob(f"*{suffix}") if not p.name.endswith(".crdownload")]
        return files[0] if files and not list(folder.glob("*.crdownload")) else None
    return wait_for(done, timeout, f"下载 {suffix}")


def clean(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
