"""Runs the installed hearthd the way hearth.service does, without systemd: as the user
hearth (no new privileges), umask 0077, in /var/lib/hearth, with /etc/hearth/hearthd.toml,
the unit's environment and a notification socket. Listeners go to free loopback ports and
mDNS stays off, so nothing leaves this machine. Checks that a reading published with
mosquitto_pub is stored in /var/lib/hearth and that the dashboard is served, and prints the
time from exec to READY=1 (first start: new database and certificates; then two restarts).
Called by packaging/check-deb.sh --install."""

import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

DATA = "/var/lib/hearth"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fail(msg):
    sys.exit(f"run-as-unit: {msg}")


def start(ports, notify_path):
    listen = []
    for name, port in ports.items():
        listen += [f"--{name}-listen", f"127.0.0.1:{port}"]
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": DATA,
        "USER": "hearth",
        "LOGNAME": "hearth",
        "SHELL": "/usr/sbin/nologin",
        "NOTIFY_SOCKET": notify_path,
    }
    cmd = ["setpriv", "--reuid=hearth", "--regid=hearth", "--init-groups", "--no-new-privs",
           "/usr/bin/hearthd", "--config", "/etc/hearth/hearthd.toml", "--mdns", "off", *listen]
    old = os.umask(0o077)
    try:
        return subprocess.Popen(cmd, cwd=DATA, env=env, stdout=subprocess.PIPE, text=True)
    finally:
        os.umask(old)


def wait_for(sock, word, what):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sock.settimeout(deadline - time.monotonic())
        msg = sock.recv(4096).decode()
        if word in msg.splitlines():
            return msg
    fail(f"no {word} within 30 s ({what})")


def run_once(ports, sock, path, check):
    t0 = time.monotonic()
    hub = start(ports, path)
    ready = wait_for(sock, "READY=1", "start")
    took = time.monotonic() - t0
    status = next(line for line in ready.splitlines() if line.startswith("STATUS="))
    if check:
        check(ports)
    hub.terminate()
    wait_for(sock, "STOPPING=1", "SIGTERM")
    code = hub.wait(30)
    out = hub.stdout.read()
    if code != 0 or "hearthd stopped" not in out:
        fail(f"exit {code} after SIGTERM; stdout: {out}")
    return took, status


def check_recording(ports):
    topic = "home/service/temperature"
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(ports["mqtt"]), "-q", "1",
                    "-t", topic, "-m", "21.5"], check=True)
    db = sqlite3.connect(f"file:{DATA}/hearth.db?mode=ro", uri=True)
    deadline = time.monotonic() + 10
    while True:
        rows = db.execute("SELECT r.value FROM readings r JOIN series s ON s.id = r.series_id "
                          "WHERE s.topic = ?", (topic,)).fetchall()
        if rows == [(21.5,)]:
            break
        if time.monotonic() > deadline:
            fail(f"the reading was not stored in {DATA}/hearth.db: {rows}")
        time.sleep(0.1)
    db.close()
    base = f"http://127.0.0.1:{ports['http']}"
    page = urllib.request.urlopen(base + "/", timeout=10).read().decode()
    with open("/usr/share/hearth/ui/index.html") as f:
        if page != f.read():
            fail("/ is not the packaged dashboard")
    devices = json.load(urllib.request.urlopen(base + "/api/devices", timeout=10))
    if "service/temperature" not in json.dumps(devices):
        fail(f"/api/devices does not list the sensor: {devices}")


def main():
    ports = {n: free_port() for n in ["mqtt", "mqtts", "ws", "wss", "http", "https"]}
    if ports["mqtt"] == 1883:
        fail("a free port was the default one")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        path = os.path.join(tmp, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        os.chmod(path, 0o777)
        first, status = run_once(ports, sock, path, check_recording)
        again = [run_once(ports, sock, path, None)[0] for _ in range(3)]
    print(f"service manager told: {status}")
    for f in os.listdir(DATA):
        st = os.stat(os.path.join(DATA, f))
        if st.st_uid != int(subprocess.check_output(["id", "-u", "hearth"])):
            fail(f"{f} is not the hearth user's")
        if st.st_mode & 0o077:
            fail(f"{f} is readable by others: {oct(st.st_mode)}")
    print(f"start-up to READY=1 as the service: first start {first * 1000:.0f} ms "
          f"(database and certificates made), restarts median "
          f"{statistics.median(again) * 1000:.0f} ms ({', '.join(f'{t * 1000:.0f}' for t in again)})")
    print(f"reading stored in {DATA}/hearth.db; dashboard served; files private to hearth")


main()
