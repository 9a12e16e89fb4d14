#!/usr/bin/env python3
"""Benchmark: `launch plan` of an environment whose `build:` context holds SIZE_MB of files (default 1024: 1 GiB).

The first plan hashes every file (read in 1 MiB pieces); the second finds each file's size, modification time and
inode unchanged in `.launch/cache/` and reads nothing; the third follows an edit of one file. Beside them, the
same context's `docker compose config` (what any plan costs anyway) and `cat` of every file (reading them all once,
from the page cache after the first run). Nothing is built; the project is a temporary directory, removed at the end.

Usage: bench/build_context.py [--size-mb N] [--files N] [--launch PATH]   (needs a running engine)
"""
import argparse, os, shutil, subprocess, sys, tempfile, time

IMAGE = "local/busybox:latest"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import release_launch  # noqa: E402


def timed(command, cwd):
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return elapsed, result.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--files", type=int, default=1024)
    parser.add_argument("--launch", default=None)
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    launch = release_launch(root, args.launch)
    project = tempfile.mkdtemp(prefix="launch-bench-context-")
    try:
        os.makedirs(f"{project}/environments")
        os.makedirs(f"{project}/compose/app/data")
        with open(f"{project}/compose/app/Dockerfile", "w") as f:
            f.write(f"FROM {IMAGE}\nCOPY . /app\n")
        each = args.size_mb * 1024 * 1024 // args.files
        chunk = os.urandom(1 << 20)
        for index in range(args.files):
            with open(f"{project}/compose/app/data/part-{index:05d}.bin", "wb") as f:
                left = each
                while left > 0:
                    f.write(chunk[: min(left, len(chunk))])
                    left -= len(chunk)
        # Settle the files' timestamps, as a checkout's are: a file changed within the last two seconds is not cached.
        past = time.time() - 60
        for name in os.listdir(f"{project}/compose/app/data"):
            os.utime(f"{project}/compose/app/data/{name}", (past, past))
        # Their change times too: a file changed within two seconds is read again on the next plan.
        time.sleep(2.5)
        with open(f"{project}/compose/stack.yml", "w") as f:
            f.write("services:\n  app:\n    build: ./app\n    image: launch-bench-context-app\n")
        with open(f"{project}/environments/bench.yml", "w") as f:
            f.write("name: bench\ncompose: {project: launch-bench-context, files: [stack.yml]}\nenv_file: .env.bench\n")
        open(f"{project}/.env.bench", "w").close()
        plan = [launch, "plan", "bench", "--json"]
        compose_config, _ = timed(["docker", "compose", "-f", "compose/stack.yml", "config", "--format", "json"], project)
        floor, _ = timed(["sh", "-c", "cat compose/app/data/* > /dev/null"], project)
        first, _ = timed(plan, project)
        second, _ = timed(plan, project)
        with open(f"{project}/compose/app/data/part-00000.bin", "r+b") as f:
            f.write(b"edited")
        os.utime(f"{project}/compose/app/data/part-00000.bin", (past + 1, past + 1))
        time.sleep(2.5)
        third, out = timed(plan, project)
        print(f"context: {args.files} files, {args.size_mb} MiB; launch {subprocess.run([launch, '--version'], capture_output=True, text=True).stdout.strip()}")
        print(f"  docker compose config         {compose_config:7.3f} s")
        print(f"  cat of every file             {floor:7.3f} s   (reading it all once)")
        print(f"  launch plan, first            {first:7.3f} s   (hashes every file)")
        print(f"  launch plan, second           {second:7.3f} s   (the cache: a stat per file)")
        print(f"  launch plan, one file edited  {third:7.3f} s   (reads that file only)")
    finally:
        shutil.rmtree(project, ignore_errors=True)


if __name__ == "__main__":
    main()
