#!/usr/bin/env python3
"""Failover evidence: two PostgreSQL 15 clusters on loopback, a primary and a synchronous
standby (synchronous_standby_names, synchronous_commit=on); two cardvault instances whose URL
names both hosts (target_session_attrs=read-write) under tokenize load; kill -9 of the primary,
promotion of the standby; then every token acknowledged before, during and after is read back
through both instances.
Prints: acknowledged (before the kill / after it), lost (must be 0), the seconds without
service (the longest stretch with no acknowledgement), and which instances served afterwards.

usage: failover.py CARDVAULT_BINARY [SECONDS_BEFORE] [SECONDS_AFTER] [DETECTION_SECONDS]"""
import http.client, json, os, random, shutil, signal, socket, subprocess, sys, tempfile, threading, time
from cardnumbers import luhn

binary = os.path.abspath(sys.argv[1])
before = float(sys.argv[2]) if len(sys.argv) > 2 else 3
after = float(sys.argv[3]) if len(sys.argv) > 3 else 4
detection = float(sys.argv[4]) if len(sys.argv) > 4 else 1
PG = "/usr/lib/postgresql/15/bin"
work = tempfile.mkdtemp(prefix="cardvault-failover.")
os.chmod(work, 0o755)
root = os.getuid() == 0
procs = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_owner(args, **kw):
    """PostgreSQL refuses root: its commands run as the postgres user then."""
    return subprocess.run((["runuser", "-u", "postgres", "--"] if root else []) + args, check=True, capture_output=True, text=True, **kw)


def pg_ctl(data, *args):
    # The server outlives pg_ctl: no pipes to it.
    subprocess.run((["runuser", "-u", "postgres", "--"] if root else []) + [f"{PG}/pg_ctl", "-D", data, *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def psql(port, sql, db="postgres"):
    return subprocess.run([f"{PG}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "cardvault", "-d", db, "-Atqc", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    for name in ("primary", "standby"):
        if os.path.exists(f"{work}/{name}/postmaster.pid"):
            subprocess.run((["runuser", "-u", "postgres", "--"] if root else []) + [f"{PG}/pg_ctl", "-D", f"{work}/{name}", "-m",
                           "immediate", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)


try:
    if root:
        subprocess.run(["chown", "postgres:postgres", work], check=True)
    p1, p2 = free_port(), free_port()
    # The primary: WAL for a standby, commits wait for the standby named standby1.
    as_owner([f"{PG}/initdb", "-D", f"{work}/primary", "-U", "cardvault", "-A", "trust", "-E", "UTF8"])
    common = f"-k {work} -c listen_addresses=127.0.0.1 -c max_connections=100"
    pg_ctl(f"{work}/primary", "-l", f"{work}/primary.log", "-w", "-o",
           f"-p {p1} {common} -c wal_level=replica -c max_wal_senders=4 -c synchronous_commit=on"
           " -c synchronous_standby_names=standby1", "start")
    # The standby: a base backup of the primary, streaming as standby1.
    as_owner([f"{PG}/pg_basebackup", "-h", "127.0.0.1", "-p", str(p1), "-U", "cardvault", "-D", f"{work}/standby", "-R", "-X",
              "stream"])
    as_owner(["sh", "-c", f"echo \"primary_conninfo = 'host=127.0.0.1 port={p1} user=cardvault application_name=standby1'\""
              f" >> {work}/standby/postgresql.auto.conf"])
    pg_ctl(f"{work}/standby", "-l", f"{work}/standby.log", "-w", "-o", f"-p {p2} {common}", "start")
    for _ in range(100):
        if psql(p1, "SELECT sync_state FROM pg_stat_replication") == "sync":
            break
        time.sleep(0.1)
    else:
        raise SystemExit("the standby never became synchronous")
    psql(p1, "CREATE DATABASE vault")

    url = f"postgres://cardvault@127.0.0.1:{p1},127.0.0.1:{p2}/vault?target_session_attrs=read-write"
    flags = ["--database", url, "--keys-dir", f"{work}/keys"]

    def run(*args):
        return subprocess.run([binary, *args, *flags], check=True, capture_output=True, text=True).stdout

    run("keys", "init")
    secret = json.loads(run("clients", "add", "failover", "--scopes", "cards:write,cards:read", "--json"))["secret"]
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    env = {**os.environ, "CARDVAULT_LOG_LEVEL": os.environ.get("FAILOVER_LOG_LEVEL", "error"), "CARDVAULT_TOKENIZE_RATE": "0", "CARDVAULT_ENUMERATION_LIMIT": "1000000", "CARDVAULT_ENUMERATION_TENANT_LIMIT": "1000000"}
    ports = [free_port(), free_port()]
    for i, port in enumerate(ports):
        procs.append(subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--admin-socket", f"{work}/admin{i}.sock",
                                       *flags], stdout=subprocess.DEVNULL, stderr=open(f"{work}/vault{i}.log", "w"), env=env))
    for port in ports:
        for _ in range(300):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise SystemExit("a vault instance did not start")

    acked, lock, counter, stop = [], threading.Lock(), [0], threading.Event()

    def load(worker):
        conns = {}
        while not stop.is_set():
            with lock:
                counter[0] += 1
                n = counter[0]
            port = ports[n % 2]
            pan = luhn("4" + str(10**13 + n * 7919 + worker)[:14])
            body = json.dumps({"number": pan, "exp_month": 12, "exp_year": 2031})
            try:
                conn = conns.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conns[port] = conn
                conn.request("POST", "/v1/cards", body, headers)
                r = conn.getresponse()
                data = r.read()
                if r.status in (200, 201):
                    with lock:
                        acked.append((time.monotonic(), port, json.loads(data)["token"], pan[-4:]))
                else:
                    time.sleep(0.02)
            except (OSError, http.client.HTTPException, ValueError):
                conns.pop(port, None)
                time.sleep(0.02)

    threads = [threading.Thread(target=load, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    time.sleep(before)
    with open(f"{work}/primary/postmaster.pid") as f:
        postmaster = int(f.readline())
    killed = time.monotonic()
    os.kill(postmaster, signal.SIGKILL)        # the primary dies mid-load, commits in flight
    time.sleep(detection)                      # what a monitor takes to notice
    pg_ctl(f"{work}/standby", "promote", "-w")
    promoted = time.monotonic()
    time.sleep(after)
    stop.set()
    for t in threads:
        t.join()

    times = sorted(a[0] for a in acked)
    gap = max((b - a for a, b in zip(times, times[1:])), default=float("inf"))
    before_kill = sum(1 for a in acked if a[0] < killed)
    after_promotion = [a for a in acked if a[0] > promoted]
    serving = sorted({a[1] for a in after_promotion})
    first_after = min((a[0] for a in acked if a[0] > killed), default=None)

    lost = []
    conns = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=10) for port in ports}
    for i, (_, _, token, last4) in enumerate(acked):
        conn = conns[ports[i % 2]]
        conn.request("GET", f"/v1/cards/{token}", headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200 or json.loads(data).get("last_4") != last4:
            lost.append(token)
    writes_on = psql(p2, "SELECT pg_is_in_recovery()", "vault")
    print(f"failover: primary kill -9 after {before:.0f} s of tokenize load on 2 instances, standby promoted "
          f"{promoted - killed:.1f} s later; acknowledged {len(acked)} ({before_kill} before the kill, {len(after_promotion)} after "
          f"the promotion), lost {len(lost)} (must be 0); {gap:.2f} s without service (first acknowledgement "
          f"{(first_after - killed) if first_after else float('nan'):.2f} s after the kill); instances serving after: "
          f"{len(serving)} of 2; standby in recovery now: {writes_on}")
    ok = not lost and len(serving) == 2 and before_kill > 0 and writes_on == "f"
except BaseException:
    # What the instances logged, for the failure's cause (no card data is ever logged).
    for i in range(2):
        try:
            print(f"--- vault {i} log (tail) ---\n" + "".join(open(f"{work}/vault{i}.log").readlines()[-15:]), file=sys.stderr)
        except OSError:
            pass
    raise
finally:
    cleanup()
sys.exit(0 if ok else 1)
