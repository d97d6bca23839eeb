#!/usr/bin/env python3
"""The HA lab: three PostgreSQL 15 nodes under Patroni, an etcd member beside each, two cardvault
instances and a Horizonpay simulator, every node and instance in its own network namespace on
one host, joined by one bridge. A partition is a link taken down or a route blackholed inside a
namespace, so it is real packet loss, not a killed process.

    lab.py up [BINARY]   build the lab from nothing (a previous one is removed first)
    lab.py status        the Patroni members, the vault instances' /readyz
    lab.py stop          remove every process, namespace, link and file the lab made

Addresses: the bridge 10.77.0.1 (the host's side: the simulator and the load generator), nodes
n1..n3 10.77.0.11-13 (PostgreSQL 5432, Patroni's REST API 8008, etcd 2379/2380), vault instances
v1, v2 10.77.0.21-22 (HTTP 8787). Nothing is routed beyond that subnet. Needs root, Debian's
patroni, etcd-server, postgresql-15 and iproute2. State lives in $CARDVAULT_HA_DIR
(/tmp/cardvault-ha); the client secret of the lab's tenant is in client-secret there."""
import json, os, pwd, secrets, shutil, signal, subprocess, sys, time, urllib.request

PG = "/usr/lib/postgresql/15/bin"
DIR = os.environ.get("CARDVAULT_HA_DIR", "/tmp/cardvault-ha")
NET = "10.77.0"
BRIDGE = "cvha-br"
NODES = ["n1", "n2", "n3"]
VAULTS = ["v1", "v2"]
ADDRESS = {"host": f"{NET}.1", "n1": f"{NET}.11", "n2": f"{NET}.12", "n3": f"{NET}.13", "v1": f"{NET}.21", "v2": f"{NET}.22"}
SIM_PORT = 8790
VAULT_PORT = 8787
# Patroni's clock: a leader key lives 10 s, the loop runs every 2 s, a DCS call is retried for
# 4 s (ttl >= loop_wait + 2 * retry_timeout). Failover therefore takes about 10 to 14 s.
TTL, LOOP_WAIT, RETRY_TIMEOUT = 10, 2, 4


def namespace(host):
    return f"cvha-{host}"


def command(args, ns=None, user=None):
    """ARGS run as USER (PostgreSQL and Patroni refuse root) inside namespace NS."""
    line = list(args)
    if user:
        line = ["runuser", "-u", user, "--"] + line
    if ns:
        line = ["ip", "netns", "exec", namespace(ns)] + line
    return line


def run(*args, ns=None, user=None, check=True, input=None, env=None):
    result = subprocess.run(command(args, ns, user), capture_output=True, text=True, input=input, env=env)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()[-400:]}")
    return result


def spawn(name, args, ns=None, user=None, env=None):
    """A long-lived process of the lab, detached (it outlives `lab.py up`); its pid is kept in
    DIR/pids/NAME and its output in DIR/logs/NAME.log."""
    log = open(f"{DIR}/logs/{name}.log", "ab")
    process = subprocess.Popen(command(args, ns, user), stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env)
    with open(f"{DIR}/pids/{name}", "w") as f:
        f.write(str(process.pid))
    return process


def pid(name):
    try:
        with open(f"{DIR}/pids/{name}") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def kill_group(name, sig=signal.SIGKILL):
    """Signals the process group `spawn` started for NAME (runuser, the process and its children)."""
    p = pid(name)
    if p is None:
        return
    try:
        os.killpg(p, sig)
    except ProcessLookupError:
        pass


def alive(name):
    p = pid(name)
    if p is None:
        return False
    try:
        os.killpg(p, 0)
        return True
    except ProcessLookupError:
        return False


def http_json(url, timeout=2.0, method="GET", body=None):
    request = urllib.request.Request(url, method=method, data=body)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"null")
        except ValueError:
            return error.code, None
    except (OSError, ValueError):
        return None, None


def wait_for(what, check, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not within {seconds} s")


# The network ------------------------------------------------------------------------------------

def network_up():
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    run("ip", "addr", "add", f"{ADDRESS['host']}/24", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    for host in NODES + VAULTS:
        ns = namespace(host)
        run("ip", "netns", "add", ns)
        run("ip", "link", "add", ns, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run("ip", "link", "set", ns, "master", BRIDGE, "up")
        run("ip", "-n", ns, "addr", "add", f"{ADDRESS[host]}/24", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")


def network_down():
    for host in NODES + VAULTS:
        run("ip", "netns", "del", namespace(host), check=False)   # its veth end goes with it
        run("ip", "link", "del", namespace(host), check=False)
    run("ip", "link", "del", BRIDGE, check=False)


def isolate(host):
    """HOST loses its only link: nothing in or out."""
    run("ip", "-n", namespace(host), "link", "set", "eth0", "down")


def reconnect(host):
    run("ip", "-n", namespace(host), "link", "set", "eth0", "up")


def cut(a, b):
    """Packets between A and B are dropped both ways (a blackhole route on each side); every
    other path stays up."""
    run("ip", "-n", namespace(a), "route", "add", "blackhole", f"{ADDRESS[b]}/32")
    run("ip", "-n", namespace(b), "route", "add", "blackhole", f"{ADDRESS[a]}/32")


def uncut(a, b):
    run("ip", "-n", namespace(a), "route", "del", "blackhole", f"{ADDRESS[b]}/32", check=False)
    run("ip", "-n", namespace(b), "route", "del", "blackhole", f"{ADDRESS[a]}/32", check=False)


# etcd and Patroni -------------------------------------------------------------------------------

def start_etcd(node):
    a = ADDRESS[node]
    cluster = ",".join(f"{n}=http://{ADDRESS[n]}:2380" for n in NODES)
    spawn(f"etcd-{node}", [
        "etcd", "--name", node, "--data-dir", f"{DIR}/etcd-{node}",
        "--listen-peer-urls", f"http://{a}:2380", "--initial-advertise-peer-urls", f"http://{a}:2380",
        "--listen-client-urls", f"http://{a}:2379", "--advertise-client-urls", f"http://{a}:2379",
        "--initial-cluster", cluster, "--initial-cluster-state", "new" if not os.path.exists(f"{DIR}/etcd-{node}/member") else "existing",
        "--initial-cluster-token", "cardvault-ha", "--heartbeat-interval", "100", "--election-timeout", "1000",
    ], ns=node)


def etcd_healthy(node):
    status, body = http_json(f"http://{ADDRESS[node]}:2379/health", timeout=1)
    return status == 200 and (body or {}).get("health") == "true"


def patroni_config(node, strict):
    a = ADDRESS[node]
    with open(f"{DIR}/secrets.json") as f:
        s = json.load(f)
    return f"""scope: cardvault
namespace: /service/
name: {node}
restapi:
  listen: {a}:8008
  connect_address: {a}:8008
etcd3:
  hosts: {','.join(f'{ADDRESS[n]}:2379' for n in NODES)}
bootstrap:
  dcs:
    ttl: {TTL}
    loop_wait: {LOOP_WAIT}
    retry_timeout: {RETRY_TIMEOUT}
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: {'true' if strict else 'false'}
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        max_connections: 200
        wal_keep_size: 256MB
        archive_mode: 'on'
        archive_timeout: 10
  initdb:
  - encoding: UTF8
  - data-checksums
watchdog:
  mode: required
  driver: testing
  device: {DIR}/{node}/watchdog
  safety_margin: 5
postgresql:
  listen: {a}:5432
  connect_address: {a}:5432
  data_dir: {DIR}/{node}/data
  bin_dir: {PG}
  pgpass: {DIR}/{node}/pgpass
  authentication:
    replication:
      username: replicator
      password: {s['replicator']}
    superuser:
      username: postgres
      password: {s['postgres']}
    rewind:
      username: postgres
      password: {s['postgres']}
  parameters:
    # Per node: pgBackRest's archive-push insists that pg1-path is the server's own data
    # directory (a production node has a pgbackrest.conf of its own that says so).
    archive_command: 'pgbackrest --config={DIR}/pgbackrest.conf --stanza=cardvault --pg1-path={DIR}/{node}/data archive-push %p'
    unix_socket_directories: {DIR}/{node}
    ssl: 'on'
    ssl_cert_file: {DIR}/{node}/server.pem
    ssl_key_file: {DIR}/{node}/server.key
  pg_hba:
  - local all all trust
  - host replication replicator {NET}.0/24 scram-sha-256
  - hostssl all all {NET}.0/24 scram-sha-256
"""


def make_certificates():
    """A throwaway CA and a server certificate per node (its address in subjectAltName): the
    vault connects with sslmode=verify-full, as in production."""
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=cardvault-ha-ca",
        "-keyout", f"{DIR}/ca.key", "-out", f"{DIR}/ca.pem")
    for node in NODES:
        base = f"{DIR}/{node}/server"
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={ADDRESS[node]}", "-keyout", f"{base}.key",
            "-out", f"{base}.csr")
        with open(f"{base}.ext", "w") as f:
            f.write(f"subjectAltName=IP:{ADDRESS[node]}\n")
        run("openssl", "x509", "-req", "-in", f"{base}.csr", "-CA", f"{DIR}/ca.pem", "-CAkey", f"{DIR}/ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", f"{base}.ext", "-out", f"{base}.pem")
        os.chmod(f"{base}.key", 0o600)


def start_watchdog(node):
    """The node's watchdog (watchdog.py): Patroni requires it before it leads."""
    spawn(f"watchdog-{node}", [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "watchdog.py"), node])
    wait_for(f"{node}'s watchdog", lambda: os.path.exists(f"{DIR}/{node}/watchdog"), 10)


def start_patroni(node):
    return spawn(f"patroni-{node}", ["patroni", f"{DIR}/{node}/patroni.yml"], ns=node, user="postgres")


def members():
    """Patroni's view of the cluster, asked of the first node whose REST API answers."""
    for node in NODES:
        status, body = http_json(f"http://{ADDRESS[node]}:8008/cluster", timeout=1)
        if status == 200 and body:
            return body.get("members", [])
    return []


def answers(node, check):
    """Whether NODE's Patroni answers 200 to a health check (`primary`: it runs as the primary
    and holds the leader key; `replica`: a running replica; `sync`: the synchronous standby).
    Each node speaks for itself, so a node just back from a partition cannot report a stale
    view of the others."""
    status, _ = http_json(f"http://{ADDRESS[node]}:8008/{check}", timeout=1)
    return status == 200


def leader():
    leaders = [n for n in NODES if answers(n, "primary")]
    return leaders[0] if len(leaders) == 1 else None


def healthy(replicas=2):
    """One primary and REPLICAS running replicas, one of them synchronous."""
    return leader() is not None and sum(answers(n, "replica") for n in NODES) >= replicas and any(answers(n, "sync") for n in NODES)


def psql(node, sql, db="postgres", check=True):
    """SQL on NODE through its Unix socket (which crosses namespaces: it is a file)."""
    return run(f"{PG}/psql", "-h", f"{DIR}/{node}", "-p", "5432", "-U", "postgres", "-d", db, "-Atqc", sql, check=check).stdout.strip()


def postgres_ids():
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def postgres_pids(node):
    """Every PostgreSQL process in NODE's namespace (the postmaster and its children)."""
    pids = []
    for p in run("ip", "netns", "pids", namespace(node), check=False).stdout.split():
        try:
            with open(f"/proc/{p}/comm") as f:
                if f.read().strip() == "postgres":
                    pids.append(int(p))
        except OSError:
            pass
    return pids


def postmaster(node):
    try:
        with open(f"{DIR}/{node}/data/postmaster.pid") as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def timelines():
    return sorted({m.get("timeline") for m in members() if m.get("timeline") is not None})


# pgBackRest -------------------------------------------------------------------------------------

def pgbackrest_config():
    with open(f"{DIR}/secrets.json") as f:
        s = json.load(f)
    lines = ["[global]", f"repo1-path={DIR}/backrest", "repo1-cipher-type=aes-256-cbc", f"repo1-cipher-pass={s['backrest']}",
             "repo1-retention-full=2", "start-fast=y", "archive-async=n", f"log-path={DIR}/logs", "log-level-file=info",
             f"lock-path={DIR}/backrest-lock", "", "[cardvault]"]
    for i, node in enumerate(NODES, 1):
        lines += [f"pg{i}-path={DIR}/{node}/data", f"pg{i}-socket-path={DIR}/{node}", f"pg{i}-port=5432", f"pg{i}-user=postgres"]
    return "\n".join(lines) + "\n"


def pgbackrest(*args, check=True):
    return run("pgbackrest", f"--config={DIR}/pgbackrest.conf", "--stanza=cardvault", *args, user="postgres", check=check)


RESTORE_PORT, RESTORE_VAULT_PORT = 5499, 8797


def restore_point_in_time(target):
    """The newest backup and the archived WAL replayed to TARGET (`YYYY-MM-DD HH:MM:SS.mmm+00`)
    into a new cluster on the host's loopback (port 5499, archiving off, so it cannot write into
    the lab's repository), then promoted; a vault instance on it at 127.0.0.1:8797 with the lab's
    keys. Answers its port, the lab's client secret and a runner of cardvault commands on it."""
    d = f"{DIR}/restore"
    os.makedirs(d, exist_ok=True)
    run("chown", "postgres:postgres", d)
    os.chmod(d, 0o700)
    started = time.monotonic()
    pgbackrest("restore", f"--pg1-path={d}/data", "--type=time", f"--target={target}", "--target-action=promote",
               "--archive-mode=off")
    # The backup's pg_hba.conf admits the lab's subnet only.
    with open(f"{d}/data/pg_hba.conf", "w") as f:
        f.write("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    spawn("restore-postgres", [f"{PG}/postgres", "-D", f"{d}/data", "-c", f"port={RESTORE_PORT}", "-c", "listen_addresses=127.0.0.1",
                               "-c", f"unix_socket_directories={d}", "-c", "ssl=off", "-c", "archive_mode=off",
                               "-c", "synchronous_standby_names=", "-c", f"hba_file={d}/data/pg_hba.conf",
                               "-c", f"ident_file={d}/data/pg_ident.conf", "-c", "cluster_name=restore"], user="postgres")

    def promoted():
        r = run(f"{PG}/psql", "-h", d, "-p", str(RESTORE_PORT), "-U", "postgres", "-Atqc", "SELECT NOT pg_is_in_recovery()",
                user="postgres", check=False)
        return r.returncode == 0 and r.stdout.strip() == "t"
    wait_for("the restored cluster promoted", promoted, 180)
    with open(f"{DIR}/binary") as f:
        binary = f.read().strip()
    flags = ["--database", f"postgres://cardvault@127.0.0.1:{RESTORE_PORT}/vault", "--keys-dir", f"{DIR}/keys"]
    env = vault_env({"CARDVAULT_AUDIT_ANCHOR_FILE": f"{d}/anchors.jsonl"})
    spawn("restore-vault", [binary, "serve", "--listen", f"127.0.0.1:{RESTORE_VAULT_PORT}", "--admin-socket", f"{d}/admin.sock", *flags],
          env=env)
    wait_for("the vault on the restored cluster", lambda: http_json(f"http://127.0.0.1:{RESTORE_VAULT_PORT}/readyz")[0] == 200, 60)
    with open(f"{DIR}/client-secret") as f:
        secret = f.read().strip()
    return {"port": RESTORE_VAULT_PORT, "secret": secret, "seconds": time.monotonic() - started,
            "cardvault": lambda *args: run(binary, *args, *flags, env=env, check=False)}


def remove_restore():
    kill_group("restore-vault")
    kill_group("restore-postgres")
    shutil.rmtree(f"{DIR}/restore", ignore_errors=True)


# The vault --------------------------------------------------------------------------------------

def database_url():
    hosts = ",".join(f"{ADDRESS[n]}:5432" for n in NODES)
    return f"postgres://cardvault@{hosts}/vault?target_session_attrs=read-write&sslmode=verify-full&sslrootcert={DIR}/ca.pem"


def vault_flags():
    return ["--database", database_url(), "--keys-dir", f"{DIR}/keys"]


def vault_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARDVAULT_", "HORIZONPAY_", "IOKA_"))}
    env.update({
        "CARDVAULT_DATABASE_PASSWORD_FILE": f"{DIR}/vault-password", "CARDVAULT_ALLOW_NON_LOOPBACK": "1",
        "CARDVAULT_LOG_LEVEL": os.environ.get("CARDVAULT_HA_LOG_LEVEL", "warning"), "CARDVAULT_TOKENIZE_RATE": "0",
        "CARDVAULT_ENUMERATION_LIMIT": "1000000", "CARDVAULT_AUDIT_ANCHOR_FILE": f"{DIR}/anchors.jsonl",
        "CARDVAULT_AUDIT_CHECKPOINT_SECONDS": "2",
        "HORIZONPAY_GATEWAY_URL": f"http://127.0.0.1:{SIM_PORT}", "HORIZONPAY_CHECKOUT_URL": f"http://127.0.0.1:{SIM_PORT}",
        "HORIZONPAY_SHOP_ID": "29", "HORIZONPAY_SECRET_KEY": "sim-secret-key", "HORIZONPAY_PUBLIC_KEY": "sim-public-key",
        "HORIZONPAY_TIMEOUT_SECONDS": "5",
    })
    env.update(extra or {})
    return env


def cardvault(binary, *args, ns="v1"):
    return run(binary, *args, *vault_flags(), ns=ns, env=vault_env()).stdout


def start_vault(binary, host):
    os.makedirs(f"{DIR}/{host}", exist_ok=True)
    # The simulator as a loopback URL inside the namespace (relay.py says why).
    if not alive(f"relay-{host}"):
        spawn(f"relay-{host}", [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "relay.py"), str(SIM_PORT),
                                ADDRESS["host"], str(SIM_PORT)], ns=host)
    spawn(f"vault-{host}", [binary, "serve", "--listen", f"{ADDRESS[host]}:{VAULT_PORT}", "--admin-socket", f"{DIR}/{host}/admin.sock",
                            *vault_flags()], ns=host, env=vault_env())


def vault_url(host):
    return f"http://{ADDRESS[host]}:{VAULT_PORT}"


def vault_ready(host):
    status, _ = http_json(f"{vault_url(host)}/readyz", timeout=2)
    return status == 200


def simulator_binary(binary):
    return os.path.join(os.path.dirname(binary), "cardvault-simulator")


# Up and down ------------------------------------------------------------------------------------

def stop():
    for name in os.listdir(f"{DIR}/pids") if os.path.isdir(f"{DIR}/pids") else []:
        if name.startswith(("vault-", "sim", "relay-", "restore-")):
            kill_group(name, signal.SIGKILL)
    for node in NODES:
        kill_group(f"watchdog-{node}", signal.SIGKILL)     # first: it would start Patroni again
        kill_group(f"patroni-{node}", signal.SIGKILL)
        p = postmaster(node)
        if p:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        kill_group(f"etcd-{node}", signal.SIGKILL)
    # Whatever still runs in a lab namespace (a postgres child that lost its group) goes too.
    for host in NODES + VAULTS:
        pids = run("ip", "netns", "pids", namespace(host), check=False).stdout.split()
        for p in pids:
            try:
                os.kill(int(p), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
    network_down()
    shutil.rmtree(DIR, ignore_errors=True)


def up(binary, strict=False):
    if os.geteuid() != 0:
        raise SystemExit("run-ha: needs root (network namespaces)")
    for tool in ("patroni", "etcd", "pgbackrest", f"{PG}/initdb"):
        if not shutil.which(tool):
            raise SystemExit(f"run-ha: {tool} is not installed (apt-get install patroni etcd-server pgbackrest postgresql-15)")
    stop()
    for d in ("", "/pids", "/logs", "/backrest", "/backrest-lock", "/keys"):
        os.makedirs(DIR + d, exist_ok=True)
    os.chmod(DIR, 0o755)
    with open(f"{DIR}/secrets.json", "w") as f:
        os.fchmod(f.fileno(), 0o600)
        json.dump({k: secrets.token_urlsafe(18) for k in ("postgres", "replicator", "vault", "backrest")}, f)
    run("chown", "postgres:postgres", f"{DIR}/backrest", f"{DIR}/backrest-lock", f"{DIR}/logs")
    network_up()
    for node in NODES:
        os.makedirs(f"{DIR}/{node}", exist_ok=True)
        start_etcd(node)
    wait_for("etcd quorum", lambda: all(etcd_healthy(n) for n in NODES), 30)
    with open(f"{DIR}/pgbackrest.conf", "w") as f:
        f.write(pgbackrest_config())
    make_certificates()
    os.chmod(f"{DIR}/pgbackrest.conf", 0o640)
    run("chgrp", "postgres", f"{DIR}/pgbackrest.conf")
    os.chmod(f"{DIR}/secrets.json", 0o640)
    run("chgrp", "postgres", f"{DIR}/secrets.json")
    for node in NODES:
        with open(f"{DIR}/{node}/patroni.yml", "w") as f:
            f.write(patroni_config(node, strict))
        run("chown", "-R", "postgres:postgres", f"{DIR}/{node}")
        os.chmod(f"{DIR}/{node}", 0o700)
        start_watchdog(node)
    start_patroni(NODES[0])       # the first node bootstraps; the others clone it
    first = wait_for("a leader", leader, 90)
    for node in NODES[1:]:
        start_patroni(node)
    wait_for("two streaming replicas, one synchronous", healthy, 180)
    with open(f"{DIR}/secrets.json") as f:
        password = json.load(f)["vault"]
    psql(first, f"CREATE ROLE cardvault LOGIN PASSWORD '{password}'")
    psql(first, "CREATE DATABASE vault OWNER cardvault")
    with open(f"{DIR}/vault-password", "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(password)
    pgbackrest("stanza-create")
    # The simulator on the host's side of the bridge: one call count for both instances.
    spawn("sim", [simulator_binary(binary), "horizonpay", "--listen", f"{ADDRESS['host']}:{SIM_PORT}", "--any-address"])
    cardvault(binary, "keys", "init")
    client = json.loads(cardvault(binary, "clients", "add", "ha", "--scopes", "cards:write,cards:read,horizonpay:forward", "--json"))
    with open(f"{DIR}/client-secret", "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(client["secret"])
    for host in VAULTS:
        start_vault(binary, host)
    for host in VAULTS:
        wait_for(f"vault {host} ready", lambda: vault_ready(host), 60)
    with open(f"{DIR}/binary", "w") as f:
        f.write(binary)


def status():
    for m in members():
        print(f"{m.get('name')}: {m.get('role')} {m.get('state')} timeline {m.get('timeline')} lag {m.get('lag', 0)}")
    for host in VAULTS:
        code, body = http_json(f"{vault_url(host)}/readyz")
        print(f"{host}: /readyz {code} {json.dumps(body)}")


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "status"
    if action == "up":
        up(os.path.abspath(sys.argv[2]), strict=os.environ.get("CARDVAULT_HA_STRICT") == "1")
        status()
        print(f"run-ha: up; client secret in {DIR}/client-secret; vaults at {vault_url('v1')} and {vault_url('v2')}")
    elif action == "stop":
        stop()
        print("run-ha: everything the lab made is gone")
    elif action == "status":
        status()
    else:
        raise SystemExit(__doc__)
