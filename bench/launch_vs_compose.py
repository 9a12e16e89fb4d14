#!/usr/bin/env python3
"""Benchmark: `launch` against `docker compose up -d --wait` on the same stacks, in one run.

Every number comes from the engine's own event timestamps (docker events, nanoseconds), so both tools are
measured by the same clock:
  total        wall time of the command
  floor        the stack's critical path: sum of the service delays along the longest chain
  tail         command exit - last `health_status: healthy` event
  per edge     dependent's `start` event - its dependency's `health_status: healthy` event (mean)
  doomed       for a stack whose core service exits 1: tool exit (or launch's failure line) - the `die` event

Usage: bench/launch_vs_compose.py [--runs N] [--launch PATH]   (needs a running engine and local/busybox:latest)
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, threading, time, uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import down  # noqa: E402

IMAGE = "local/busybox:latest"


def service(delay, deps=()):
    lines = [f"    image: {IMAGE}",
             f"    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep {delay}; touch /tmp/ok; sleep 3600 & wait\"]",
             "    healthcheck: {test: [\"CMD\", \"test\", \"-f\", \"/tmp/ok\"], interval: 250ms, timeout: 1s, retries: 3, start_period: 30s}"]
    if deps:
        lines.append("    depends_on: {" + ", ".join(f"{d}: {{condition: service_healthy}}" for d in deps) + "}")
    return "\n".join(lines)


def chain_stack():
    """A 4-deep chain of 1.5 s services plus two independent 1 s branches."""
    parts = ["services:"]
    for name, deps in [("s1", ()), ("s2", ("s1",)), ("s3", ("s2",)), ("s4", ("s3",))]:
        parts += [f"  {name}:", service(1.5, deps)]
    parts += ["  b1:", service(1.0), "  b2:", service(1.0, ("b1",))]
    return "\n".join(parts) + "\n", 6.0


def doomed_stack():
    parts = ["services:", "  ok:", service(0.2),
             "  doomed:", f"    image: {IMAGE}", "    command: [\"sh\", \"-c\", \"sleep 1; echo fatal >&2; exit 1\"]",
             "    healthcheck: {test: [\"CMD\", \"false\"], interval: 250ms, start_period: 60s}",
             "    depends_on: {ok: {condition: service_healthy}}"]
    return "\n".join(parts) + "\n", None


class Events:
    """Collects this project's container events with engine timestamps."""
    def __init__(self, project):
        self.events = []
        self.proc = subprocess.Popen(["docker", "events", "--format", "{{json .}}", "--filter", f"label=com.docker.compose.project={project}"],
                                     stdout=subprocess.PIPE, text=True)
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()
        time.sleep(0.3)

    def read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.events.append((event.get("timeNano", 0) / 1e9, event.get("status") or event.get("Action", ""),
                                event.get("Actor", {}).get("Attributes", {}).get("com.docker.compose.service", "")))

    def stop(self):
        time.sleep(0.3)
        self.proc.terminate()


def measure(tool, stack, floor, launch, runs_dir):
    project = f"bench-{tool}-{uuid.uuid4().hex[:6]}"
    root = tempfile.mkdtemp(prefix=project, dir=runs_dir)
    os.makedirs(f"{root}/environments"); os.makedirs(f"{root}/compose")
    open(f"{root}/compose/stack.yml", "w").write(stack)
    open(f"{root}/environments/bench.yml", "w").write(
        f"name: bench\ncompose: {{project: {project}, files: [stack.yml]}}\nhealth: {{retries: 0}}\n")
    compose = ["docker", "compose", "-p", project, "-f", f"{root}/compose/stack.yml"]
    events = Events(project)
    failure_line_at = None
    began = time.time()
    if tool == "launch":
        out = tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen([launch, "bench", "--project-dir", root, "--no-cleanup", "--json"], stdout=out,
                                stderr=subprocess.PIPE, text=True, env={**os.environ, "CI": "true", "NO_COLOR": "1"})
        for line in proc.stderr:
            if failure_line_at is None and " failed " in line and "doomed" in line:
                failure_line_at = time.time()
        proc.wait()
        out.seek(0)
        try:
            launch_result = json.load(out)
        except ValueError:
            launch_result = None
    else:
        proc = subprocess.run(compose + ["up", "-d", "--wait"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ended = time.time()
    events.stop()
    down(compose, project)
    shutil.rmtree(root, ignore_errors=True)

    healthy = {svc: t for t, action, svc in events.events if action == "health_status: healthy"}
    started = {}
    for t, action, svc in events.events:
        if action == "start":
            started.setdefault(svc, t)
    died = [t for t, action, svc in events.events if action == "die" and svc == "doomed"]
    result = {"tool": tool, "total": ended - began, "exit": proc.returncode}
    if tool == "launch" and launch_result and floor is not None:
        # launch's own view of each edge: dependency ready -> dependent's start request (its reaction), and how
        # long the engine then took to start the dependent.
        services = {s["name"]: s for s in launch_result.get("services", [])}
        edges = [("s2", "s1"), ("s3", "s2"), ("s4", "s3"), ("b2", "b1")]
        reactions = [services[d]["started_at"] - services[p]["ready_at"] for d, p in edges
                     if services.get(d, {}).get("started_at") is not None and services.get(p, {}).get("ready_at") is not None]
        engine = [services[d]["engine_start_seconds"] for d, _ in edges if services.get(d, {}).get("engine_start_seconds") is not None]
        result["reaction"] = sum(reactions) / len(reactions) if reactions else None
        result["engine_start"] = sum(engine) / len(engine) if engine else None
    if floor is not None:
        result["floor"] = floor
        result["tail"] = ended - max(healthy.values()) if healthy else None
        edges = [("s2", "s1"), ("s3", "s2"), ("s4", "s3"), ("b2", "b1")]
        gaps = [started[d] - healthy[p] for d, p in edges if d in started and p in healthy]
        result["per_edge"] = sum(gaps) / len(gaps) if gaps else None
    if died:
        reported = failure_line_at if (tool == "launch" and failure_line_at) else ended
        result["doomed"] = reported - died[0]
    return result


def engine_start_latency(samples=5):
    """The engine's own cost of starting a created container (POST /containers/{id}/start over the socket),
    measured in the same run: the part of every dependency edge that no launcher can remove."""
    import socket
    # The engine's own API version: an engine with an API floor (Docker 29, DOCKER_MIN_API_VERSION) refuses older ones.
    api = subprocess.run(["docker", "version", "--format", "{{.Server.APIVersion}}"], capture_output=True, text=True).stdout.strip() or "1.41"
    times = []
    for _ in range(samples):
        cid = subprocess.run(["docker", "create", "--label", "launch-bench=1", IMAGE, "sleep", "60"],
                             capture_output=True, text=True).stdout.strip()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        sock.connect(host[len("unix://"):] if host.startswith("unix://") else "/var/run/docker.sock")
        began = time.time()
        sock.sendall(f"POST /v{api}/containers/{cid}/start HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        while sock.recv(4096):
            pass
        times.append(time.time() - began)
        sock.close()
        subprocess.run(["docker", "rm", "-f", cid], stdout=subprocess.DEVNULL)
    times.sort()
    return times[len(times) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--launch", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "launch"))
    args = parser.parse_args()
    if not os.path.exists(args.launch):
        sys.exit(f"no launch binary at {args.launch}: run `swift build -c release` first")
    runs_dir = tempfile.mkdtemp(prefix="launch-bench-")
    baseline = engine_start_latency()
    rows = []
    for name, (stack, floor) in [("chain", chain_stack()), ("doomed", doomed_stack())]:
        for _ in range(args.runs):
            for tool in ("launch", "compose"):
                r = measure(tool, stack, floor, args.launch, runs_dir)
                r["stack"] = name
                rows.append(r)
    def avg(stack, tool, key):
        values = [r[key] for r in rows if r["stack"] == stack and r["tool"] == tool and r.get(key) is not None]
        return sum(values) / len(values) if values else float("nan")
    print(f"runs per cell: {args.runs}; engine {subprocess.run(['docker', 'version', '--format', '{{.Server.Version}}'], capture_output=True, text=True).stdout.strip()}, "
          f"compose {subprocess.run(['docker', 'compose', 'version', '--short'], capture_output=True, text=True).stdout.strip()}")
    print("chain: 4-deep chain of 1.5 s services + 1 s branch pair, probes every 250 ms; critical-path floor 6.00 s")
    print(f"{'tool':8} {'total':>8} {'over floor':>11} {'tail':>8} {'per edge':>9}")
    for tool in ("launch", "compose"):
        total = avg("chain", tool, "total")
        print(f"{tool:8} {total:7.2f}s {total - 6.0:10.2f}s {avg('chain', tool, 'tail'):7.3f}s {avg('chain', tool, 'per_edge'):8.3f}s")
    print(f"per edge, split by launch's own timestamps: reaction (dependency ready -> start request) "
          f"{avg('chain', 'launch', 'reaction') * 1000:.1f} ms, engine start of the dependent {avg('chain', 'launch', 'engine_start'):.3f}s "
          f"(an idle engine starts a bare container in {baseline:.3f}s; under the stack's own load it is slower for both tools)")
    speedup = 1 - avg("chain", "launch", "total") / avg("chain", "compose", "total")
    print(f"launch is {speedup * 100:.0f}% faster than compose on the chain")
    print("doomed: a core service exits 1 one second after start")
    for tool in ("launch", "compose"):
        print(f"{tool:8} reported {avg('doomed', tool, 'doomed'):6.3f}s after the engine's die event (total {avg('doomed', tool, 'total'):.2f}s)")
    json.dump(rows, open(os.path.join(runs_dir, "results.json"), "w"), indent=1)
    print(f"raw results: {runs_dir}/results.json")


if __name__ == "__main__":
    main()
