"""The local page is a server (issue 22, item 5): loopback only, a token, Host and CSRF checks,
downloads only of what this run made, bounded uploads through the package gate, one instance, and
a launcher that desktop tools accept. Requests are sent as a browser or an attacker would send
them, to the real server process."""
from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from conftest import missing
from web_support import Server, wait_for
from xlpipeline.resources import DEMO_WORKBOOK


@pytest.fixture
def server(tmp_path):
    folder = tmp_path / "工作"
    folder.mkdir()
    shutil.copyfile(DEMO_WORKBOOK, folder / "考评演示.xlsx")
    running = Server(folder / "考评演示.xlsx", tmp_path / "home")
    yield running
    assert running.stop() == 0


def post(server: Server, path: str, fields: dict, headers: dict | None = None) -> tuple[int, str, dict]:
    body = urlencode(fields).encode()
    return server.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                                "Origin": server.base, **(headers or {})})


def test_the_token_is_needed(server):
    assert server.request("GET", "/score", token=False)[0] == 403
    assert server.request("GET", "/score", headers={"Cookie": "xlpipeline=guessed"}, token=False)[0] == 403
    assert server.request("GET", "/download/x", token=False)[0] == 403
    status, _, headers = server.request("GET", f"/score?token={server.token}", token=False)
    assert status == 303 and headers["location"] == "/score"  # the token leaves the address bar
    cookie = headers["set-cookie"]
    assert f"xlpipeline={server.token}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, page, headers = server.request("GET", "/score")
    assert status == 200 and "79.19" in page
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp


def test_a_foreign_host_is_refused(server):
    for host in ("evil.example", f"evil.example:{server.port}", f"127.0.0.1:{server.port + 1}", "localhost"):
        status, page, _ = server.request("GET", "/score", headers={"Host": host})
        assert status == 403 and "主机名" in page


def test_listens_on_loopback_only(server):
    listening = [line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                 if line.split()[3] == "0A"]  # state LISTEN
    ours = [address for address in listening if int(address.split(":")[1], 16) == server.port]
    assert ours == ["0100007F:" + f"{server.port:04X}"]  # 127.0.0.1, nothing else


def test_a_post_needs_the_csrf_token_and_our_origin(server):
    workbook = server.request("GET", "/score")
    assert workbook[0] == 200
    status, page, _ = post(server, "/score/write", {})
    assert status == 403 and "CSRF" in page
    status, _, _ = post(server, "/score/write", {"csrf": "wrong"})
    assert status == 403
    csrf = server.csrf()
    assert post(server, "/score/write", {"csrf": csrf}, {"Origin": "http://evil.example"})[0] == 403
    assert post(server, "/score/write", {"csrf": csrf}, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert server.request("PUT", "/score/write", b"", {"Content-Length": "0"})[0] == 405
    assert not (server.home.parent / "工作" / ".xlpipeline-backup").exists()  # none of these wrote anything
    status, _, headers = post(server, "/score/write", {"csrf": csrf})
    assert status == 303 and (server.home.parent / "工作" / ".xlpipeline-backup").exists()


def finished_job(server: Server, location: str) -> str:
    job = location.rsplit("/", 1)[1]
    wait_for(lambda: '"running"' not in server.request("GET", f"/api/jobs/{job}")[1], 120, "job")
    return server.request("GET", location)[1]


def test_downloads_only_of_this_run(tmp_path, server):
    status, _, headers = post(server, "/generate/submit", {"csrf": server.csrf()})
    assert status == 303
    page = finished_job(server, headers["location"])
    keys = re.findall(r'href="/download/([\w-]+)"', page)
    assert keys and server.request("GET", f"/download/{keys[0]}")[0] == 200
    for path in ("/download/..%2F..%2F..%2Fetc%2Fpasswd", "/download/%2Fetc%2Fpasswd", "/download/../../etc/passwd",
                 "/download/" + quote(str(DEMO_WORKBOOK), safe=""), "/static/../guard.py",
                 "/static/%2e%2e/guard.py"):
        status, text, _ = server.request("GET", path)
        assert status == 404 and "root:" not in text and "import" not in text, path
    assert server.stop() == 0
    again = Server(server.home.parent / "工作", server.home)  # a new run of the server, same user
    try:
        status, page, _ = again.request("GET", f"/download/{keys[0]}")
        assert status == 404 and "下载链接只在生成它的这次运行中有效" in page
    finally:
        assert again.stop() == 0


def test_the_calendar_page_takes_no_path_from_the_address(tmp_path, server):
    """The 科室 in the address filters and names the download; it never becomes a path or markup."""
    for dept in ("../../../../tmp/xlp-escape", "<script>alert(1)</script>", "/etc/passwd", "综合科"):
        status, page, _ = server.request("GET", "/calendar?" + urlencode({"dept": dept, "show": "all"}))
        assert status == 200 and "<script>alert" not in page, dept
        (key,) = re.findall(r'href="/download/([\w-]+)"', page)
        status, data, headers = server.request("GET", f"/download/{key}")
        assert status == 200 and data.startswith("BEGIN:VCALENDAR"), dept
        assert "/" not in headers["content-disposition"].split("filename", 1)[1].replace("''", ""), headers
    assert not list(Path("/tmp").glob("xlp-escape*")) and not (tmp_path / "xlp-escape.ics").exists()


def test_a_huge_upload_is_refused_before_it_is_read(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("POST", "/collect", skip_host=True)
    for name, value in {"Host": f"127.0.0.1:{server.port}", "Cookie": f"xlpipeline={server.token}",
                        "Origin": server.base, "Content-Type": "multipart/form-data; boundary=x",
                        "Content-Length": str(200 * 1024 * 1024)}.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(b"--x\r\n" + b"a" * 65536)  # the rest of the 200 MB never needs to be sent
    answer = connection.getresponse()
    assert answer.status == 413 and "上传的内容太大" in answer.read().decode("utf-8")
    connection.close()
    status, _, _ = server.request("POST", "/collect", b"x", {"Origin": server.base, "Transfer-Encoding": "chunked"})
    assert status in (400, 411)


def multipart(fields: dict, files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "xlpipeline-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
              f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n" for field, name, data in files]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_uploads_pass_the_package_gate(server):
    hostile = Path(__file__).parent / "regressions"
    samples = [("not a zip.xlsx", b"PK\x03\x04 not really a workbook"),
               ("../../逃逸.xlsx", DEMO_WORKBOOK.read_bytes()),
               ("old.xls", b"\xd0\xcf\x11\xe0")] + [(p.name, p.read_bytes()) for p in sorted(hostile.glob("*.xls*"))[:3]]
    for name, data in samples:
        body, kind = multipart({"csrf": server.csrf()}, [("file", name, data)])
        status, _, headers = server.request("POST", "/workbook/upload", body, {"Content-Type": kind,
                                                                                "Origin": server.base})
        assert status == 303
        page = server.request("GET", headers["location"])[1]
        if name.startswith("../"):  # a good workbook with a hostile name: kept inside the scratch folder
            assert headers["location"] == "/score" and "79.19" in page and "逃逸.xlsx" in page
            assert not (server.home.parent.parent / "逃逸.xlsx").exists()
        else:
            assert headers["location"] == "/workbook" and 'class="flash error"' in page, name


def test_a_double_click_starts_one_job(server):
    csrf = server.csrf()
    first = post(server, "/generate/batch", {"csrf": csrf, "by": "考评单位"})
    second = post(server, "/generate/batch", {"csrf": csrf, "by": "考评单位"})
    assert first[0] == second[0] == 303
    assert first[2]["location"] == second[2]["location"]  # the running job, not a second one
    finished_job(server, first[2]["location"])


def test_a_second_start_opens_the_running_one(server):
    second = subprocess.run([sys.executable, "-m", "xlpipeline", "web", "--no-browser"], env=server.env,
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 0
    assert second.stdout.splitlines()[0] == server.url and "已在运行" in second.stderr
    assert server.request("GET", "/score")[0] == 200


def test_the_launcher(tmp_path):
    home = tmp_path / "home"
    (home / "桌面").mkdir(parents=True)
    (home / ".config").mkdir()
    (home / ".config" / "user-dirs.dirs").write_text('XDG_DESKTOP_DIR="$HOME/桌面"\n', encoding="utf-8")
    env = {**Server.environment(home)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "xlpipeline", "launcher", *a], env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    made = run()
    assert made.returncode == 0, made.stderr
    entries = [home / ".local/share/applications/xlpipeline-web.desktop", home / "桌面" / "xlpipeline-web.desktop"]
    for entry in entries:
        text = entry.read_text(encoding="utf-8")
        assert "Name=模范机关考评" in text and f"Exec={sys.executable} -m xlpipeline web" in text
        validator = shutil.which("desktop-file-validate")
        if validator is None:
            missing("desktop-file-validate 未安装（Debian 软件包 desktop-file-utils）")
        checked = subprocess.run([validator, str(entry)], capture_output=True, text=True)
        assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout
    assert run("--remove").returncode == 0
    assert not any(e.exists() for e in entries)
    assert list((home / "桌面").iterdir()) == []
