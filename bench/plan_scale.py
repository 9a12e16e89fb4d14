#!/usr/bin/env python3
"""Benchmark: `launch plan` and `launch doctor` at scale and against a hung engine.

- wide:  a stack of N services (default 10,000), each depending on one earlier service (a binary tree);
- chain: a stack of M services (default 3,000), each depending on the one before (one 3,000-deep chain);
- hung:  `launch plan` and `launch doctor` of the quickstart against a unix socket that accepts connections and never
         answers (a hung daemon).

Each stack's `launch plan` is timed beside `docker compose config --format json` of the same file (what any plan
costs anyway: launch asks Compose for its model), with launch's peak memory. The hung-engine runs are timed alone:
README's targets are a plan within 2x of Compose's config, and doctor and plan (exit 2) within 6 s of a hung engine.

Usage: bench/plan_scale.py [--services N] [--chain M] [--launch PATH]
"""
import argparse, os, shutil, socket, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import release_launch  # noqa: E402


def timed(command, cwd):
    """Wall time, exit status and peak memory (MiB) of this one child."""
    started = time.monotonic()
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - started, child.returncode, usage.ru_maxrss // 1024


def write_stack(project, name, count, parent):
    with open(f"{project}/compose/{name}.yml", "w") as f:
        f.write("services:\n")
        for i in range(count):
            f.write(f"  s{i}:\n    image: local/busybox:latest\n    command: [\"sleep\", \"3600\"]\n")
            if i > 0:
                f.write(f"    depends_on: [s{parent(i)}]\n")
    with open(f"{project}/environments/{name}.yml", "w") as f:
        f.write(f"name: {name}\nsummary: {name}\ncompose: {{project: bench-{name}, files: [{name}.yml]}}\nenv_file: .env.{name}\n")


def hung_socket(path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(64)
    kept = []

    def serve():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            kept.append(connection)  # never read, never answered

    threading.Thread(target=serve, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--chain", type=int, default=3000)
    parser.add_argument("--launch", default=None)
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    launch = release_launch(root, args.launch)
    project = tempfile.mkdtemp(prefix="launch-bench-scale-")
    try:
        os.makedirs(f"{project}/environments")
        os.makedirs(f"{project}/compose")
        write_stack(project, "wide", args.services, lambda i: (i - 1) // 2)
        write_stack(project, "chain", args.chain, lambda i: i - 1)
        print(f"{'case':<34} {'compose config':>15} {'launch plan':>12} {'ratio':>6} {'launch peak':>12}")
        for name, count in [("wide", args.services), ("chain", args.chain)]:
            compose, _, _ = timed(["docker", "compose", "-f", f"compose/{name}.yml", "config", "--format", "json"], project)
            plan, status, peak = timed([launch, "plan", name, "--project-dir", project], project)
            if status != 0:
                sys.exit(f"launch plan {name} failed ({status})")
            print(f"{name + ' (' + str(count) + ' services)':<34} {compose:>14.2f}s {plan:>11.2f}s {plan / compose:>6.2f} {peak:>9} MiB")
        sock = f"{project}/hung.sock"
        server = hung_socket(sock)
        quickstart = os.path.join(root, "examples", "quickstart")
        for command in (["doctor", "demo"], ["plan", "demo"]):
            elapsed, status, _ = timed([launch, *command, "-H", f"unix://{sock}", "--project-dir", quickstart], quickstart)
            print(f"{'hung engine: launch ' + ' '.join(command):<34} {'':>15} {elapsed:>11.2f}s   exit {status}")
        server.close()
    finally:
        shutil.rmtree(project, ignore_errors=True)


if __name__ == "__main__":
    main()
