#!/usr/bin/env python3
"""The lab's watchdog: what a hardware watchdog (or the kernel's softdog) does for a production
Patroni node, for a node that is a network namespace.

    watchdog.py NODE

Patroni (`watchdog: mode: required`) arms a watchdog before it takes the leader key and sends a
keepalive after every loop in which it renewed the key. If the loop stalls (its PostgreSQL
frozen, a query that does not return, Patroni itself stopped), the keepalives stop and, after
ttl - safety_margin seconds, the watchdog resets the node: the old leader's PostgreSQL is gone
before its leader key expires and a standby is promoted, so it can never come back as a primary
beside the new one. Without it, a leader whose loop resumes after a stall can win the key back and
rewind the promoted standby: acknowledged writes lost (scenario 4 of scripts/evidence/ha.py did
exactly that).

The device is Patroni's own test driver (`driver: testing`): a named pipe at DIR/NODE/watchdog
that receives `Ctimeout=N` when the timeout is set, `1` per keepalive and `V` when Patroni
disarms it (magic close). A namespace has no reset line, so firing means: SIGKILL of the node's
Patroni and every PostgreSQL process in its namespace (etcd is left alone, as if it ran on its
own hosts), a pause of REBOOT seconds, then Patroni started again, as the node's boot would, and
kept running for a while (systemd's Restart=always: a Patroni that boots while the node is still
cut off from etcd exits, and starts again until it stays up). Every
arm, disarm and reset is logged with a timestamp in DIR/logs/watchdog-NODE.log."""
import os, select, signal, stat, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402

REBOOT = 5.0
SUPERVISE = 120.0           # how long after a reset a Patroni that exits is started again


def log(message):
    print(f"{time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} {message}", flush=True)


def reset(node):
    lab.kill_group(f"patroni-{node}", signal.SIGKILL)
    for p in lab.postgres_pids(node):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main(node):
    path = f"{lab.DIR}/{node}/watchdog"
    if os.path.exists(path) and not stat.S_ISFIFO(os.stat(path).st_mode):
        os.unlink(path)
    if not os.path.exists(path):
        os.mkfifo(path, 0o600)
    os.chown(path, *lab.postgres_ids())
    # Read-write, so that the pipe never reports end-of-file between Patroni's opens.
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    timeout, armed, last, pending = 60.0, False, 0.0, b""
    booted = None            # when this watchdog last started Patroni after a reset
    patroni = None           # the Patroni it started
    while True:
        ready, _, _ = select.select([fd], [], [], 0.1)
        now = time.monotonic()
        if booted is not None and now - booted > SUPERVISE:
            booted = None
        # poll(), not lab.alive(): an exited child of this process stays a zombie in its group
        # until it is reaped, and a zombie answers signal 0.
        if booted is not None and now - booted > REBOOT and patroni is not None and patroni.poll() is not None:
            log(f"{node}'s Patroni exited after boot: started again")
            patroni = lab.start_patroni(node)
            booted = now
        if ready:
            pending += os.read(fd, 4096)
            while pending:
                if pending.startswith(b"C"):
                    end = pending.find(b"\n")
                    if end < 0:
                        break
                    timeout = float(pending[1:end].decode().split("=", 1)[1])
                    pending = pending[end + 1:]
                    armed, last = True, now
                    log(f"armed, timeout {timeout:.0f} s")
                elif pending.startswith(b"V"):
                    pending = pending[1:]
                    armed = False
                    log("disarmed")
                else:
                    if not armed:
                        log("armed by a keepalive")
                    armed, last, pending = True, now, pending[1:]
        if armed and now - last > timeout:
            log(f"no keepalive for {now - last:.1f} s (timeout {timeout:.0f} s): resetting {node}")
            reset(node)
            armed = False
            time.sleep(REBOOT)
            # What the pipe held is from before the reset.
            try:
                while os.read(fd, 4096):
                    pass
            except BlockingIOError:
                pass
            pending = b""
            log(f"{node} boots: Patroni started again")
            patroni = lab.start_patroni(node)
            booted = time.monotonic()


if __name__ == "__main__":
    main(sys.argv[1])
