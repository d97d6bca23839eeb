#!/usr/bin/env python3
"""One local caller floods the vault with connections while another tokenizes.

Holds IDLE connections that never send a byte and SLOW slowloris connections that trickle a
request head one header line a second, for HOLD seconds (reopening any the server closes, as an
attacker would), and meanwhile probes GET /healthz every 0.25 s. Prints one JSON line: how many
connections were held, how many the server closed (deadlines) or refused, and the probes that
failed. Usage: connection_flood.py PORT IDLE SLOW HOLD
"""
import json, resource, selectors, socket, sys, time

port, idle_n, slow_n, hold = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
sel = selectors.DefaultSelector()
conns = {}  # socket -> kind
stats = {"opened": 0, "closed_by_server": 0, "connect_failed": 0, "probes": 0, "probe_failures": 0, "max_held": 0}


def open_one(kind):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect_ex(("127.0.0.1", port))
    except OSError:
        stats["connect_failed"] += 1
        s.close()
        return
    sel.register(s, selectors.EVENT_READ)
    conns[s] = kind
    stats["opened"] += 1
    if kind == "slow":
        try:
            s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass


def probe():
    stats["probes"] += 1
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as p:
            p.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if not p.recv(64).startswith(b"HTTP/1.1 200"):
                stats["probe_failures"] += 1
    except OSError:
        stats["probe_failures"] += 1


for _ in range(idle_n):
    open_one("idle")
for _ in range(slow_n):
    open_one("slow")
start = last_trickle = last_probe = time.time()
line = 0
while time.time() - start < hold:
    for key, _ in sel.select(timeout=0.05):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:  # the server closed it: reopen, as the attacker would
            kind = conns.pop(s)
            sel.unregister(s)
            s.close()
            stats["closed_by_server"] += 1
            open_one(kind)
    now = time.time()
    if now - last_trickle >= 1:
        last_trickle, line = now, line + 1
        for s, kind in list(conns.items()):
            if kind == "slow":
                try:
                    s.send(b"X-Slow-%d: 1\r\n" % line)
                except OSError:
                    pass
    if now - last_probe >= 0.25:
        last_probe = now
        probe()
    stats["max_held"] = max(stats["max_held"], len(conns))
for s in list(conns):
    s.close()
print(json.dumps(stats))
