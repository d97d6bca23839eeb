#!/usr/bin/env python3
"""Runs the walk-throughs of the README and docs/ as a reader would, so they cannot drift.

Every ```sh block in README.md, docs/*.md and deploy/README.md carries a marker on the line
before its fence, saying what the test does with it:

  <!-- docs-test: run -->               run it in the document's shell (one bash session per
                                        document, so variables carry from block to block); it
                                        fails on a failing command (set -e -o pipefail) and on
                                        a `# -> TEXT` line whose TEXT (`...` matches anything)
                                        no line printed by the block matches, in order
  <!-- docs-test: server URL -->        start it as in another terminal (its own process group)
                                        and go on once URL answers (any HTTP status)
  <!-- docs-test: stop -->              (no block) stop every server started so far, as Ctrl-C
                                        in their terminals would
  <!-- docs-test: example -->           a fragment with placeholders, or a command the suite
                                        itself is (scripts/test.sh): bash -n only
  <!-- docs-test: production -->        for production hosts (systemd, Patroni, /etc): bash -n only

A block without a marker fails the test, so a new walk-through is never silently left out.

The walk-through documents (WALKTHROUGHS, in the order a newcomer reads them) run in one fresh
folder holding only `scripts` (a link to this checkout's) and `.build/release` (a link to the
binaries just built: the debug build scripts/test.sh made, or with DOCS_BUILD=release the
release build). scripts/run.sh and scripts/run-postgres.sh take BINARY from the environment
instead of building. Ports the docs name (8787, 8788, 8789, 8790, 8791, 55432) are replaced by
free ones. Each document runs twice in that folder: the second pass proves it can be re-run.

Usage: scripts/docs-test.py [--keep] [DOCUMENT...]   (default: every walk-through)
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WALKTHROUGHS = ["README.md", "docs/api.md", "docs/horizonpay.md", "docs/ioka.md", "docs/seals.md", "docs/adopting.md"]
MARKER = re.compile(r"^<!--\s*docs-test:\s*(\w+)\s*(.*?)\s*-->\s*$")
PORTS = ["8787", "8788", "8789", "8790", "8791", "55432"]
BLOCK_TIMEOUT = 300
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
SERVER_TIMEOUT = 600


class Block:
    def __init__(self, document, line, mode, argument, text):
        self.document, self.line, self.mode, self.argument, self.text = document, line, mode, argument, text

    def where(self):
        return f"{self.document}:{self.line}"


def blocks(document):
    """The marked steps of one document, in order; raises on a ```sh block without a marker."""
    lines = open(os.path.join(ROOT, document), encoding="utf-8").read().split("\n")
    out, i, pending = [], 0, None
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line)
        if m:
            if m.group(1) == "stop":
                out.append(Block(document, i + 1, "stop", "", ""))
            else:
                pending = (m.group(1), m.group(2))
            i += 1
            continue
        if line.startswith("```"):
            lang = line[3:].strip()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            if lang == "sh":
                if pending is None:
                    raise SystemExit(f"{document}:{i + 1}: a ```sh block without a <!-- docs-test: ... --> marker")
                mode, argument = pending
                if mode not in ("run", "server", "example", "production"):
                    raise SystemExit(f"{document}:{i + 1}: unknown docs-test mode {mode!r}")
                out.append(Block(document, i + 1, mode, argument, "\n".join(lines[i + 1 : j]) + "\n"))
            pending = None
            i = j + 1
            continue
        if line.strip():
            pending = None if not line.startswith("<!--") else pending
        i += 1
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return str(port)


def expectation(line):
    """`# -> TEXT` anywhere on a line: TEXT with `...` as a wildcard, matched inside a line."""
    m = re.search(r"#\s*->\s*(.+?)\s*$", line)
    if not m:
        return None
    parts = [re.escape(p) for p in m.group(1).split("...")]
    return re.compile(".*?".join(parts))


class Session:
    """One reader's terminal: a bash fed block after block."""

    def __init__(self, folder, env, log):
        self.log = log
        self.proc = subprocess.Popen(
            ["bash", "--norc", "--noprofile"], cwd=folder, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True)
        self.send("exec 2>&1; set -e -o pipefail; trap 'echo \"docs-test: this command failed ($?): $BASH_COMMAND\"' ERR\n")

    def send(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def run(self, text):
        token = f"__docs_test_done_{time.time_ns()}__"
        self.send(text + f"\necho {token}\n")
        output, deadline = [], time.time() + BLOCK_TIMEOUT
        while True:
            if time.time() > deadline:
                return False, output + [f"docs-test: no end within {BLOCK_TIMEOUT} s"]
            line = self.proc.stdout.readline()
            if line == "":
                return False, output
            self.log.write(line)
            # The last command may print no final newline (curl does not): the token then ends
            # the line that holds its output.
            if line.rstrip("\n").endswith(token):
                rest = line.rstrip("\n")[: -len(token)]
                return True, output + ([rest] if rest else [])
            output.append(line.rstrip("\n"))

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


class Runner:
    def __init__(self, keep):
        self.keep = keep
        self.folder = tempfile.mkdtemp(prefix="cardvault-docs.")
        os.chmod(self.folder, 0o711)  # PostgreSQL's user must reach ./data/pg
        self.servers = []
        self.failures = []
        self.ports = {p: free_port() for p in PORTS}
        build = os.environ.get("DOCS_BUILD", "debug")
        binaries = os.path.join(ROOT, ".build", build)
        for product in ("cardvault", "cardvault-simulator"):
            if not os.access(os.path.join(binaries, product), os.X_OK):
                raise SystemExit(f"docs-test: {binaries}/{product} is missing; build it first (swift build{' -c release' if build == 'release' else ''})")
        os.symlink(os.path.join(ROOT, "scripts"), os.path.join(self.folder, "scripts"))
        os.makedirs(os.path.join(self.folder, ".build"))
        os.symlink(binaries, os.path.join(self.folder, ".build", "release"))
        self.env = dict(os.environ)
        for name in [k for k in self.env if k.startswith(("CARDVAULT_", "HORIZONPAY_", "IOKA_"))]:
            del self.env[name]
        self.env.update({
            "BINARY": os.path.join(self.folder, ".build/release/cardvault"),
            "CARDVAULT_LISTEN": f"127.0.0.1:{self.ports['8787']}",
            "PGPORT": self.ports["55432"],
            "PORT_A": self.ports["8787"],
            "PORT_B": self.ports["8788"],
            "CARDVAULT_LOG_LEVEL": "warning",
        })
        self.log = open(os.path.join(self.folder, "docs-test.log"), "w")

    def localise(self, text):
        return re.sub(r"(?<=:)(" + "|".join(PORTS) + r")\b", lambda m: self.ports[m.group(1)], text)

    def fail(self, block, why, output=()):
        tail = "\n".join("    " + line for line in list(output)[-25:])
        self.failures.append(f"{block.where()}: {why}" + (f"\n{tail}" if tail else ""))
        print(f"FAIL {block.where()}: {why}", flush=True)

    def stop_servers(self):
        for proc, _ in self.servers:
            try:
                os.killpg(proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        for proc, block in self.servers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.fail(block, "did not stop within 20 s of Ctrl-C")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.servers = []

    def start_server(self, block):
        url = self.localise(block.argument)
        log = open(os.path.join(self.folder, f"server-{len(self.servers)}-{os.path.basename(block.document)}-{block.line}.log"), "w")
        proc = subprocess.Popen(
            ["bash", "-e", "-c", self.localise(block.text)], cwd=self.folder, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.servers.append((proc, block))
        deadline = time.time() + SERVER_TIMEOUT
        while time.time() < deadline:
            if proc.poll() is not None:
                log.flush()
                self.fail(block, f"exited ({proc.returncode}) before {url} answered", open(log.name).read().splitlines())
                return False
            try:
                DIRECT.open(url, timeout=2).close()
                return True
            except urllib.error.HTTPError:
                return True
            except Exception:
                time.sleep(0.2)
        self.fail(block, f"{url} did not answer within {SERVER_TIMEOUT} s")
        return False

    def run_document(self, document, round_number):
        print(f"docs-test: {document} (pass {round_number})", flush=True)
        session = Session(self.folder, self.env, self.log)
        try:
            for block in blocks(document):
                if block.mode == "stop":
                    self.stop_servers()
                elif block.mode == "server":
                    if not self.start_server(block):
                        return
                elif block.mode == "run":
                    ok, output = session.run(self.localise(block.text))
                    if not ok:
                        self.fail(block, "a command failed (or the shell exited)", output)
                        return
                    if any("Traceback" in line for line in output):
                        self.fail(block, "python raised", output)
                        return
                    # In order: each expectation is looked for after the previous match, on
                    # the same line too (answers without a final newline share lines).
                    at, column = 0, 0
                    for wanted in filter(None, map(expectation, block.text.split("\n"))):
                        while at < len(output):
                            found = wanted.search(self.localise(output[at]), column)
                            if found:
                                column = max(found.end(), found.start() + 1)
                                break
                            at, column = at + 1, 0
                        if at == len(output):
                            self.fail(block, f"nothing printed matches {wanted.pattern!r}", output)
                            return
        finally:
            session.close()

    def check_syntax(self, document):
        for block in blocks(document):
            if block.mode in ("example", "production", "run", "server"):
                result = subprocess.run(["bash", "-n"], input=block.text, text=True, capture_output=True)
                if result.returncode != 0:
                    self.fail(block, "bash -n: " + result.stderr.strip())

    def cleanup(self):
        self.stop_servers()
        self.log.close()
        # A PostgreSQL cluster a walk-through left running.
        pg = os.path.join(self.folder, "data/pg")
        if os.path.isdir(pg):
            ctl = "/usr/lib/postgresql/15/bin/pg_ctl"
            cmd = [ctl, "-D", pg, "-m", "immediate", "stop"]
            if os.getuid() == 0:
                cmd = ["runuser", "-u", "postgres", "--"] + cmd
            subprocess.run(cmd, capture_output=True)
        if self.keep or self.failures:
            print(f"docs-test: the folder is kept: {self.folder} (docs-test.log, server-*.log)")
        else:
            shutil.rmtree(self.folder, ignore_errors=True)


def main():
    args = sys.argv[1:]
    keep = "--keep" in args
    documents = [a for a in args if a != "--keep"] or WALKTHROUGHS
    everything = ["README.md"] + sorted("docs/" + f for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md")) + ["deploy/README.md"]
    runner = Runner(keep)
    started = time.time()
    try:
        for document in everything:
            runner.check_syntax(document)
        for round_number in (1, 2):
            for document in documents:
                runner.run_document(document, round_number)
                runner.stop_servers()
    finally:
        runner.cleanup()
    counts = {}
    for document in documents:
        for block in blocks(document):
            counts[block.mode] = counts.get(block.mode, 0) + 1
    print(f"docs-test: {len(documents)} walk-throughs run twice ({counts.get('run', 0)} blocks run, {counts.get('server', 0)} servers), "
          f"every sh block of {len(everything)} documents checked, in {time.time() - started:.0f} s")
    if runner.failures:
        print("\n".join(["", "docs-test failures:"] + runner.failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
