#!/usr/bin/env python3
"""Rewrap crash evidence: vault CARDS cards, rotate the data key, then kill -9 `keys rewrap` at
random points KILLS times (each run resumes where the last stopped), and finally let it run to
completion. Every card must still decrypt to its own PAN-derived metadata (GET 200 with the
right last 4), and `keys status` must show a single version in use.

usage: rewrap_crash.py CARDVAULT_BINARY [CARDS] [KILLS]"""
import http.client, json, os, random, signal, subprocess, sys, tempfile, time
from cardnumbers import luhn

binary = sys.argv[1]
cards = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
kills = int(sys.argv[3]) if len(sys.argv) > 3 else 10
work = tempfile.mkdtemp(prefix="cardvault-rewrap.")
flags = ["--database", f"{work}/vault.sqlite", "--keys-dir", f"{work}/keys"]
port = random.randint(20000, 40000)

def cli(*args):
    return subprocess.run([binary, *args, *flags], check=True, capture_output=True, text=True).stdout

cli("keys", "init")
secret = json.loads(cli("clients", "add", "rewrap", "--scopes", "cards:write,cards:read", "--json"))["secret"]
headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
# One client vaults thousands of cards as fast as it can: its tokenize limits are raised.
server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", *flags], stderr=subprocess.DEVNULL,
                          env={**os.environ, "CARDVAULT_TOKENIZE_RATE": "0", "CARDVAULT_ENUMERATION_LIMIT": "1000000", "CARDVAULT_ENUMERATION_TENANT_LIMIT": "1000000"})
for _ in range(200):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2); c.request("GET", "/healthz")
        if c.getresponse().status == 200: break
    except OSError:
        time.sleep(0.05)
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
expected = {}
for n in range(cards):
    pan = luhn("4" + str(10**13 + n)[:14])
    conn.request("POST", "/v1/cards", json.dumps({"number": pan, "exp_month": 3, "exp_year": 2031}), headers)
    r = conn.getresponse(); body = json.loads(r.read())
    expected[body["token"]] = pan[-4:]
print(f"vaulted {len(expected)} cards under v1", flush=True)

cli("keys", "rotate")
killed = 0
while killed < kills:
    proc = subprocess.Popen([binary, "keys", "rewrap", "--batch-size", "25", *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.uniform(0.03, 0.12))
    if proc.poll() is not None:
        break                                   # finished before the kill: nothing left to interrupt
    proc.send_signal(signal.SIGKILL); proc.wait(); killed += 1
    status = json.loads(cli("keys", "status", "--json"))
    old = sum(v["cards"] for v in status["versions"] if v["version"] != status["active_version"])
    print(f"kill -9 {killed:2d}: {old} card(s) still under v1", flush=True)
final = json.loads(cli("keys", "rewrap", "--json"))
status = json.loads(cli("keys", "status", "--json"))
in_use = [v["version"] for v in status["versions"] if v["cards"] + v["provider_tokens"] + v["provider_references"] > 0]

bad = 0
for token, last4 in expected.items():
    conn.request("GET", f"/v1/cards/{token}", headers=headers)
    r = conn.getresponse(); body = r.read()
    if r.status != 200 or json.loads(body).get("last_4") != last4:
        bad += 1
server.send_signal(signal.SIGTERM); server.wait()
verify = subprocess.run([binary, "audit", "verify", *flags], capture_output=True, text=True)
print(f"rewrap crash: {killed} kill -9 of keys rewrap, then a final run rewrapped {final['rewrapped']}; "
      f"{len(expected) - bad}/{len(expected)} cards decrypt to their own card (must be all); versions in use: {in_use} (must be one); "
      f"audit chain: {'intact' if verify.returncode == 0 else 'BROKEN'}")
subprocess.run(["rm", "-rf", work])
sys.exit(0 if bad == 0 and len(in_use) == 1 and verify.returncode == 0 and killed >= min(kills, 1) else 1)
