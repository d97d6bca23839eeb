#!/usr/bin/env python3
"""HA evidence in the lab of scripts/run-ha.sh (Patroni, etcd, two vault instances, each in its
own network namespace), Jepsen-style: tokenize and transfer load from both instances the whole
time (an Idempotency-Key on every transfer, retried with the same key until it has an answer),
one fault at a time, each healed and checked before the next:

  1 kill -9 of the leader's postmaster
  2 the leader partitioned from everyone (its link down), then healed: it must be demoted
    meanwhile and rejoin as a replica
  3 one vault instance partitioned from the leader only
  4 the leader's PostgreSQL paused (SIGSTOP of every postgres process) for 30 s
  5 synchronous_mode_strict, and no synchronous standby left (both standbys killed)
  6 etcd losing quorum (two of three members killed)
  7 pgBackRest: a full backup under load, more writes, a restore to a point in time into a new
    cluster; a vault opened on it with the lab's keys reads back every token acknowledged before
    that point, and `audit verify --anchor` names the checkpoints after it as the cut tail (and
    passes with `--until` that point)

For each: acknowledged writes lost (must be 0), transfers sent twice (must be 0, the simulator
counts tracking ids), requests answered later than the bound (must be 0), the longest stretch
without an acknowledged write, and the time from the heal to a healthy cluster with both
instances writing. At the end: every acknowledged token is read back through both instances,
one timeline, `audit verify --anchor` passes. Prints one table; exits 1 when a must fails.

usage: ha.py CARDVAULT_BINARY [SCENARIOS (default 1,2,3,4,5,6,7)]
BOUND (seconds, default 15) is the longest answer allowed for a card request: the vault's
database timeout (10 s, shared by all of a request's transactions) and 5 s of slack for a
2-core host that runs the whole lab. A transfer is allowed 30 s: its database waits (10 s in
all), the provider's (HORIZONPAY_TIMEOUT_SECONDS, 5 s in the lab) and slack. The lab's nodes
run Patroni with a watchdog (scripts/ha/watchdog.py)."""
import concurrent.futures, http.client, json, os, random, shutil, signal, subprocess, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ha"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402
from cardnumbers import luhn  # noqa: E402

binary = os.path.abspath(sys.argv[1])
chosen = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "1,2,3,4,5,6,7").split(",")]
BOUND = float(os.environ.get("BOUND", "15"))
TRANSFER_BOUND = 2 * (BOUND - 5) + 5 + 5


def bound(path):
    return TRANSFER_BOUND if path.startswith("/v1/horizonpay/") else BOUND
HOLD = float(os.environ.get("HOLD", "20"))          # how long a partition or outage lasts
VAULTS = lab.VAULTS
PORT = lab.VAULT_PORT


class Load:
    """Tokenize and transfer requests against both instances, each answer timed."""

    def __init__(self, secret, source, target):
        self.headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        self.source, self.target = source, target
        self.lock = threading.Lock()
        self.acked = []          # (time, token, last4)
        self.late = []           # (start, seconds, route, host, outcome)
        self.answers = {}        # status -> count
        self.transfers = {"started": 0, "answered": 0, "retries": 0, "open": 0}
        self.stop = threading.Event()
        self.counter = 0
        self.threads = [threading.Thread(target=self.tokenize, args=(w,), daemon=True) for w in range(6)]
        self.threads += [threading.Thread(target=self.transfer, args=(w,), daemon=True) for w in range(2)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=3 * BOUND + 30)

    def request(self, host, method, path, body, headers):
        """(status, body) or (None, None) when no answer came; an answer later than BOUND, or
        none within 3 x BOUND, is recorded as late."""
        started = time.monotonic()
        outcome = "no answer"
        try:
            conn = http.client.HTTPConnection(lab.ADDRESS[host], PORT, timeout=3 * TRANSFER_BOUND)
            conn.request(method, path, body, headers)
            r = conn.getresponse()
            data = r.read()
            conn.close()
            outcome = r.status
            return r.status, data
        except (OSError, http.client.HTTPException):
            return None, None
        finally:
            took = time.monotonic() - started
            with self.lock:
                self.answers[outcome] = self.answers.get(outcome, 0) + 1
                if took > bound(path):
                    self.late.append((started, took, path, host, outcome))

    def tokenize(self, worker):
        while not self.stop.is_set():
            with self.lock:
                self.counter += 1
                n = self.counter
            host = VAULTS[worker % 2]   # each worker keeps to one instance: a stalled one stalls only its own
            pan = luhn("5" + str(10**13 + n * 7919 + worker * 31)[:14])
            status, data = self.request(host, "POST", "/v1/cards", json.dumps({"number": pan, "exp_month": 12, "exp_year": 2031}),
                                        self.headers)
            if status in (200, 201):
                with self.lock:
                    self.acked.append((time.monotonic(), json.loads(data)["token"], pan[-4:]))
            else:
                time.sleep(0.05)

    def transfer(self, worker):
        """One transfer at a time, its key kept until it has an answer (retries go to either
        instance), as a payment service does."""
        n = 0
        while not self.stop.is_set():
            n += 1
            key = f"ha-{worker}-{n}-{random.getrandbits(32):08x}"
            body = json.dumps({"request": {"amount": 100, "currency": "KZT", "description": "ha", "tracking_id": key,
                                           "credit_card": {"token": self.source}, "recipient_card": {"token": self.target}}})
            with self.lock:
                self.transfers["started"] += 1
                self.transfers["open"] += 1
            # Each transfer needs the source card's security code pending (used once).
            for _ in range(300):
                status, _ = self.request(VAULTS[worker % 2], "PATCH", f"/v1/cards/{self.source}",
                                         json.dumps({"verification_value": "123"}), self.headers)
                if status == 200 or self.stop.is_set():
                    break
                time.sleep(0.2)
            attempt = 0
            while True:
                status, _ = self.request(VAULTS[(worker + attempt) % 2], "POST", "/v1/horizonpay/p2ps", body,
                                         {**self.headers, "Idempotency-Key": key})
                if status is not None and status not in (409, 503):
                    break       # an answer: the provider's, or a recorded failure (never re-sent)
                if self.stop.is_set() and attempt > 200:
                    break
                attempt += 1
                with self.lock:
                    self.transfers["retries"] += 1
                time.sleep(0.2)
            with self.lock:
                self.transfers["open"] -= 1
                if status is not None:
                    self.transfers["answered"] += 1
            time.sleep(0.05)


def write_through(host, secret):
    """A fresh tokenize through HOST succeeds: the instance writes."""
    pan = luhn("4" + str(random.randrange(10**13, 10**14)))
    try:
        conn = http.client.HTTPConnection(lab.ADDRESS[host], PORT, timeout=5)
        conn.request("POST", "/v1/cards", json.dumps({"number": pan, "exp_month": 1, "exp_year": 2032}),
                     {"Authorization": f"Bearer {secret}"})
        return conn.getresponse().status in (200, 201)
    except (OSError, http.client.HTTPException):
        return False


def healed(secret, replicas=2):
    return lab.healthy(replicas) and all(write_through(h, secret) for h in VAULTS)


def read_back(address, port, headers, tokens, workers=6):
    """GET /v1/cards/TOKEN for every (token, last4), several at a time; answers, per token, the
    status and whether last_4 matched. An answer other than 200 or 404 (a busy instance) is
    asked again, so it is not taken for a loss."""
    local = threading.local()

    def one(item):
        token, last4 = item
        status = None
        for _ in range(50):
            conn = getattr(local, "conn", None) or http.client.HTTPConnection(address, port, timeout=10)
            local.conn = conn
            try:
                conn.request("GET", f"/v1/cards/{token}", headers=headers)
                r = conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException):
                local.conn = None
                time.sleep(0.2)
                continue
            status = r.status
            if status in (200, 404):
                return status, status == 200 and json.loads(data).get("last_4") == last4
            time.sleep(0.2)
        return status, False

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, tokens))


def point_in_time_restore(load, notes):
    """Scenario 7; its findings go to NOTES."""
    backup_started = time.monotonic()
    lab.pgbackrest("backup", "--type=full")
    notes.append(f"full backup under load {time.monotonic() - backup_started:.1f} s")
    time.sleep(HOLD / 2)                       # more writes after the backup, replayed from WAL
    point, point_wall = time.monotonic(), time.time()
    target = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(point_wall)) + f".{int(point_wall * 1000) % 1000:03d}+00"
    time.sleep(HOLD / 2)                       # writes (and audit checkpoints) after the point
    lab.pgbackrest("check")                    # switches WAL and waits until the point is archived
    restored = lab.restore_point_in_time(target)
    try:
        with load.lock:
            before = [a for a in load.acked if a[0] <= point]
            after = [a for a in load.acked if a[0] > point]
        headers = {"Authorization": f"Bearer {restored['secret']}"}
        answers = read_back("127.0.0.1", restored["port"], headers, [(token, last4) for _, token, last4 in before])
        missing = sum(not matched for _, matched in answers)
        after = after[:500]                    # a sample: absence is expected, presence explained
        present_after = sum(status == 200 for status, _ in read_back("127.0.0.1", restored["port"], headers,
                                                                    [(token, last4) for _, token, last4 in after]))
        notes.append(f"restored to {target} in {restored['seconds']:.1f} s: {len(before) - missing} of {len(before)} tokens acknowledged before it read back"
                     f" ({len(after) - present_after} of {len(after)} later ones absent, as they should be)")
        if missing:
            notes.append("FAIL")
        anchor = f"{lab.DIR}/anchors.jsonl"
        plain = restored["cardvault"]("audit", "verify", "--anchor", anchor)
        until = restored["cardvault"]("audit", "verify", "--anchor", anchor, "--until", target.replace(" ", "T").replace("+00", "Z"))
        named = plain.returncode == 2 and ("missing" in plain.stderr or "differs" in plain.stderr)
        notes.append(f"audit verify --anchor: {'names the cut tail' if named else 'FAIL: ' + (plain.stdout + plain.stderr).strip()[-200:]}"
                     f"; --until the point: {'passed' if until.returncode == 0 else 'FAIL: ' + (until.stdout + until.stderr).strip()[-200:]}")
        cut = next((line for line in until.stdout.splitlines() if "cut off" in line), "")
        if cut:
            notes.append(cut.replace("anchor: ", ""))
    finally:
        lab.remove_restore()


def scenario(number, secret, load):
    """Applies fault NUMBER, heals it; answers (name, fault time, heal time, notes)."""
    leader = lab.leader()
    notes = []
    t0 = time.monotonic()
    if number == 1:
        name = f"kill -9 of the leader's postmaster ({leader})"
        os.kill(lab.postmaster(leader), signal.SIGKILL)
        t1 = time.monotonic()
    elif number == 2:
        name = f"leader {leader} partitioned from everyone"
        lab.isolate(leader)
        time.sleep(HOLD)
        role = lab.psql(leader, "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END", check=False) or "stopped"
        notes.append(f"old leader after {HOLD:.0f} s alone: {role} (must not be primary)")
        t1 = time.monotonic()
        lab.reconnect(leader)
        if role == "primary":
            notes.append("FAIL")
    elif number == 3:
        name = f"vault v1 partitioned from the leader {leader}"
        lab.cut("v1", leader)
        time.sleep(HOLD)
        t1 = time.monotonic()
        lab.uncut("v1", leader)
    elif number == 4:
        name = f"leader {leader}'s PostgreSQL paused {HOLD + 10:.0f} s (SIGSTOP)"
        stopped = lab.postgres_pids(leader)
        for p in stopped:
            os.kill(p, signal.SIGSTOP)
        time.sleep(HOLD + 10)
        t1 = time.monotonic()
        for p in stopped:
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass
    elif number == 5:
        standbys = [n for n in lab.NODES if n != leader]
        name = f"synchronous_mode_strict, both standbys ({', '.join(standbys)}) killed"
        lab.http_json(f"http://{lab.ADDRESS[leader]}:8008/config", method="PATCH", body=b'{"synchronous_mode_strict": true}')
        time.sleep(lab.LOOP_WAIT * 2)
        t0 = time.monotonic()
        for node in standbys:
            lab.kill_group(f"patroni-{node}")
            p = lab.postmaster(node)
            if p:
                os.kill(p, signal.SIGKILL)
        time.sleep(HOLD)
        t1 = time.monotonic()
        for node in standbys:
            lab.start_patroni(node)
    elif number == 6:
        others = [n for n in lab.NODES if n != leader][:1] + [leader]
        name = f"etcd quorum lost (members on {', '.join(others)} killed)"
        for node in others:
            lab.kill_group(f"etcd-{node}")
        time.sleep(HOLD)
        role = lab.psql(leader, "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END", check=False) or "stopped"
        notes.append(f"leader without quorum: {role}")
        t1 = time.monotonic()
        for node in others:
            lab.start_etcd(node)
    elif number == 7:
        name = "pgBackRest full backup under load, restore to a point in time"
        point_in_time_restore(load, notes)
        t1 = time.monotonic()
    else:
        raise SystemExit(f"no scenario {number}")
    lab.wait_for(f"scenario {number} healed", lambda: healed(secret), 240)
    t2 = time.monotonic()
    if number == 5:
        lab.http_json(f"http://{lab.ADDRESS[lab.leader()]}:8008/config", method="PATCH", body=b'{"synchronous_mode_strict": false}')
    return name, t0, t1, t2, notes


def main():
    lab.up(binary)
    with open(f"{lab.DIR}/client-secret") as f:
        secret = f.read().strip()
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def card(number):
        conn = http.client.HTTPConnection(lab.ADDRESS["v1"], PORT, timeout=10)
        conn.request("POST", "/v1/cards", json.dumps({"number": number, "exp_month": 1, "exp_year": 2030}), headers)
        return json.loads(conn.getresponse().read())["token"]

    load = Load(secret, card("4012001037141112"), card("4200000000000000"))
    load.start()
    time.sleep(5)
    rows = []
    for number in chosen:
        before = len(load.late)
        acked_before = len(load.acked)
        name, t0, t1, t2, notes = scenario(number, secret, load)
        time.sleep(3)
        with load.lock:
            times = [a[0] for a in load.acked if t0 - 1 <= a[0] <= t2 + 3]
            late = load.late[before:]
        gaps = [b - a for a, b in zip(times, times[1:])]
        if late:
            print(f"scenario {number}: late answers " + ", ".join(f"{x[2]} on {x[3]} {x[1]:.1f} s ({x[4]})" for x in late[:8]),
                  file=sys.stderr, flush=True)
        rows.append({"n": number, "name": name, "t0": t0, "t2": t2, "acked": len(load.acked) - acked_before, "late": len(late),
                     "worst": max((x[1] for x in late), default=0.0), "without": max(gaps, default=t2 - t0),
                     "heal": t2 - t1, "notes": notes})
        print(f"scenario {number} done: {name}; {rows[-1]['without']:.1f} s without service, healed {rows[-1]['heal']:.1f} s "
              f"after the fault ended{'; ' + '; '.join(notes) if notes else ''}", file=sys.stderr, flush=True)
    load.finish()

    # Every acknowledged token, through both instances; an answer other than 200 or 404 is asked
    # again (the read-back must not count a busy instance as a loss).
    lost, missing = 0, {}
    answers = {host: read_back(lab.ADDRESS[host], PORT, headers, [(token, last4) for _, token, last4 in load.acked]) for host in VAULTS}
    for i, (acked_at, token, last4) in enumerate(load.acked):
        for host in VAULTS:
            status, matched = answers[host][i]
            if not matched:
                lost += 1
                where = next((row["n"] for row in rows if row["t0"] - 5 <= acked_at <= row["t2"] + 3), "between scenarios")
                key = f"scenario {where}, {host}: {status}"
                missing[key] = missing.get(key, 0) + 1
                break
    status, calls = lab.http_json(f"http://{lab.ADDRESS['host']}:{lab.SIM_PORT}/__simulator/calls")
    twice = (calls or {}).get("repeated_tracking_ids", -1)
    lines = lab.timelines()
    verify = lab.run(binary, "audit", "verify", "--anchor", f"{lab.DIR}/anchors.jsonl", *lab.vault_flags(), ns="v1",
                     env=lab.vault_env(), check=False)

    print(f"{'#':<2} {'scenario':<62} {'acked':>6} {'late':>5} {'worst s':>8} {'no service s':>13} {'heal s':>7}")
    for r in rows:
        print(f"{r['n']:<2} {r['name'][:62]:<62} {r['acked']:>6} {r['late']:>5} {r['worst']:>8.1f} {r['without']:>13.1f} {r['heal']:>7.1f}"
              + (f"  {'; '.join(r['notes'])}" if r["notes"] else ""))
    late_total = sum(r["late"] for r in rows)
    print(f"ha: acknowledged {len(load.acked)} tokens, lost {lost} (must be 0); transfers {load.transfers['started']} "
          f"({load.transfers['retries']} retries), sent twice {twice} (must be 0); answers later than their bound "
          f"({BOUND:.0f} s, transfers {TRANSFER_BOUND:.0f} s): "
          f"{late_total} (must be 0); timelines now {lines} (must be one); audit verify --anchor: "
          f"{'passed' if verify.returncode == 0 else 'FAILED: ' + (verify.stdout + verify.stderr).strip()[-300:]}")
    if missing:
        print(f"ha: not read back, by when acknowledged and what the instance answered: {missing}")
    print(f"ha: answers by status {dict(sorted(load.answers.items(), key=str))}")
    ok = lost == 0 and twice == 0 and late_total == 0 and len(lines) == 1 and verify.returncode == 0 \
        and not any("FAIL" in note for r in rows for note in r["notes"])
    return ok


if __name__ == "__main__":
    ok = False
    try:
        ok = main()
    except BaseException:
        for name in sorted(os.listdir(f"{lab.DIR}/logs")) if os.path.isdir(f"{lab.DIR}/logs") else []:
            if name.startswith(("vault-", "patroni-")):
                print(f"--- {name} (tail) ---\n" + "".join(open(f"{lab.DIR}/logs/{name}", errors="replace").readlines()[-12:]),
                      file=sys.stderr)
        raise
    finally:
        if not ok and os.path.isdir(f"{lab.DIR}/logs"):
            kept = f"{lab.DIR}-logs-{time.strftime('%H%M%S')}"
            shutil.copytree(f"{lab.DIR}/logs", kept, dirs_exist_ok=True)
            print(f"ha: the lab's logs are kept in {kept}", file=sys.stderr)
        if os.environ.get("KEEP_LAB") != "1":
            lab.stop()
    sys.exit(0 if ok else 1)
