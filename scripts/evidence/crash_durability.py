#!/usr/bin/env python3
"""Crash durability evidence: under steady tokenize load, kill -9 the vault again and again.
After each restart, every token answered 2xx before the kill must still be readable (GET 200,
which decrypts the card); at the end every token ever acknowledged is read again.
Prints: rounds, acknowledged, lost (must be 0), and the load's throughput.

usage: crash_durability.py CARDVAULT_BINARY [ROUNDS] [SECONDS_PER_ROUND]"""
import http.client, json, os, random, signal, subprocess, sys, tempfile, threading, time
from cardnumbers import luhn

binary = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
per_round = float(sys.argv[3]) if len(sys.argv) > 3 else 1.5
work = tempfile.mkdtemp(prefix="cardvault-crash.")
flags = ["--database", f"{work}/vault.sqlite", "--keys-dir", f"{work}/keys"]
port = random.randint(20000, 40000)

def run(*args):
    return subprocess.run([binary, *args, *flags], check=True, capture_output=True, text=True).stdout

run("keys", "init")
secret = json.loads(run("clients", "add", "crash", "--scopes", "cards:write,cards:read", "--json"))["secret"]
headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

def start():
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", *flags], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "CARDVAULT_LOG_LEVEL": "error",
                                                                 # one client loads thousands of cards a second: limits raised
                                                                 "CARDVAULT_TOKENIZE_RATE": "0", "CARDVAULT_ENUMERATION_LIMIT": "1000000", "CARDVAULT_ENUMERATION_TENANT_LIMIT": "1000000"})
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")

acked, lock, counter = [], threading.Lock(), [0]

def load(stop):
    conn = None
    while not stop.is_set():
        with lock:
            counter[0] += 1
            n = counter[0]
        pan = luhn("4" + str(10**13 + n * 7919 + random.randint(0, 6))[:14])
        body = json.dumps({"number": pan, "exp_month": 12, "exp_year": 2031})
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("POST", "/v1/cards", body, headers)
            r = conn.getresponse()
            data = r.read()
            if r.status in (200, 201):
                with lock:
                    acked.append(json.loads(data)["token"])
        except (OSError, http.client.HTTPException, ValueError):
            conn = None
            time.sleep(0.01)

def readable(tokens):
    lost, conn = [], http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for t in tokens:
        conn.request("GET", f"/v1/cards/{t}", headers=headers)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            lost.append(t)
    return lost

lost_total, checked_upto, began = [], 0, time.time()
for round_no in range(1, rounds + 1):
    proc = start()
    stop = threading.Event()
    threads = [threading.Thread(target=load, args=(stop,)) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(per_round)
    proc.send_signal(signal.SIGKILL)          # mid-load, with requests in flight
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    proc = start()
    with lock:
        fresh = acked[checked_upto:]
        checked_upto = len(acked)
    lost = readable(fresh)
    lost_total += lost
    print(f"round {round_no:2d}: {len(fresh):5d} acknowledged before kill -9, {len(lost)} lost", flush=True)
    proc.send_signal(signal.SIGTERM)
    proc.wait()

elapsed = time.time() - began
proc = start()
final_lost = readable(acked)
proc.send_signal(signal.SIGTERM)
proc.wait()
print(f"crash durability: {rounds} kill -9 rounds under tokenize load; acknowledged {len(acked)}, "
      f"lost {len(set(lost_total) | set(final_lost))} (must be 0); all re-read after the last restart")
subprocess.run(["rm", "-rf", work])
sys.exit(1 if lost_total or final_lost else 0)
