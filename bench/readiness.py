#!/usr/bin/env python3
"""Benchmark: readiness faster than the healthcheck interval, and scale (issue "Readiness faster than the
healthcheck interval"). Runs `launch` and `docker compose up -d --wait` side by side on the same stacks, in one
run, against the engine DOCKER_HOST names, and prints medians, the launch/compose ratio and the critical-path floor.

Stacks (every service becomes ready about `ready_after` seconds after it starts; its healthcheck passes from then):
  interval5   4-deep chain, healthcheck interval 5 s          floor = 4 x (ready_after + engine start)
  interval10  4-deep chain, healthcheck interval 10 s
  fast        4-deep chain, interval 250 ms (the existing fast-probe chain)
  wide        10 wide x 4 deep = 40 services, interval 1 s, timeout 5 s
  wide5       the same 40 services with a 5 s interval (what real stacks use)
  fifty       50 services: 5 levels of 10, interval 1 s, timeout 5 s
With --start-interval every healthcheck also gets `start_interval: 250ms` and a start_period (needs Docker 25+:
Compose refuses it on 20.10), so the engine probes fast by itself during startup.

Busy after: how much of the host's CPU the stack keeps busy once it is up (the engine running its healthchecks, read
from /proc/stat for 3 s after compose's run; meaningful with a local engine only): 40 busybox services checked every
second keep a 2-core host ~95 % busy by themselves, so there both tools wait on the same saturated engine.

Where the time went (launch's own report, its slowest chain): `engine` is the engine answering the start requests
along that chain (`engine_start_seconds`), `detect` how much later than the service's own `ready_after` its
readiness was seen (the check's schedule, spawning it, the verdict reaching launch), `react` the launcher's own time
from a dependency's readiness to its dependent's start request. `bound` is launch's total less `detect` and
`react`: what even a launcher that saw readiness the instant it happened would take, given the engine's start
latencies of that run; `bound/compose` above 0.8 means the 0.8 target cannot be met on that host by readiness
detection alone.

CPU per service: CPU/svc is launch with every docker/compose process it ran (getrusage of the child); own/svc is
launch's own threads only (`engine.launcher_cpu_seconds` in its result).

Usage: bench/readiness.py [--runs N] [--stacks interval5,wide,...] [--start-interval] [--launch PATH]
"""
import argparse, json, os, resource, shutil, statistics, subprocess, sys, tempfile, time, uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import down  # noqa: E402

IMAGE = "local/busybox:latest"


def service(ready_after, interval, deps, start_interval):
    # A start period, so probes failing while the service starts (fast intervals) do not count towards retries.
    check = f"test: [\"CMD\", \"test\", \"-f\", \"/tmp/ok\"], interval: {interval}, timeout: 5s, retries: 3, start_period: 60s"
    if start_interval:
        check += ", start_interval: 250ms"
    lines = [f"    image: {IMAGE}",
             f"    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep {ready_after}; touch /tmp/ok; sleep 3600 & wait\"]",
             f"    healthcheck: {{{check}}}"]
    if deps:
        lines.append("    depends_on: {" + ", ".join(f"{d}: {{condition: service_healthy}}" for d in deps) + "}")
    return "\n".join(lines)


def layered(width, depth, ready_after, interval, start_interval):
    parts = ["services:"]
    for level in range(depth):
        for index in range(width):
            name = f"l{level}s{index}"
            deps = [f"l{level - 1}s{index}"] if level > 0 else []
            parts += [f"  {name}:", service(ready_after, interval, deps, start_interval)]
    return "\n".join(parts) + "\n", width * depth, depth


STACKS = {
    "interval5": lambda si: layered(1, 4, 1.0, "5s", si),
    "interval10": lambda si: layered(1, 4, 1.0, "10s", si),
    "fast": lambda si: layered(1, 4, 1.0, "250ms", si),
    "wide": lambda si: layered(10, 4, 1.0, "1s", si),
    "wide5": lambda si: layered(10, 4, 1.0, "5s", si),
    "fifty": lambda si: layered(10, 5, 1.0, "1s", si),
}


def engine_start_latency():
    """The engine's own time to start a created container, measured now (part of every edge's floor)."""
    times = []
    for _ in range(3):
        cid = subprocess.run(["docker", "create", "--label", "launch-bench=1", IMAGE, "sleep", "60"],
                             capture_output=True, text=True).stdout.strip()
        began = time.time()
        subprocess.run(["docker", "start", cid], stdout=subprocess.DEVNULL)
        times.append(time.time() - began)
        subprocess.run(["docker", "rm", "-f", cid], stdout=subprocess.DEVNULL)
    # `docker start` includes the CLI's own ~50 ms; report it as is (an upper bound).
    return statistics.median(times)


def host_busy(seconds=3.0):
    """Share of all CPUs busy over `seconds` (this host's /proc/stat), or None where there is none."""
    def ticks():
        fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(fields) - fields[3] - fields[4], sum(fields)  # busy (all but idle and iowait), total
    try:
        busy0, total0 = ticks()
        time.sleep(seconds)
        busy1, total1 = ticks()
        return (busy1 - busy0) / max(total1 - total0, 1)
    except OSError:
        return None


def critical_chain(services, ready_after):
    """Decomposes the chain that ended last (services l<level>s<index>, each depending on the one a level up):
    engine start answers, detection beyond the service's own `ready_after`, and the launcher's reaction."""
    by_name = {s["name"]: s for s in services}
    if not services or any(s.get("ready_at") is None or s.get("started_at") is None for s in services):
        return None
    last = max(services, key=lambda s: s["ready_at"])
    level, index = (int(x) for x in last["name"][1:].split("s"))
    engine = detect = react = 0.0
    for k in range(level, -1, -1):
        s = by_name[f"l{k}s{index}"]
        start = s.get("engine_start_seconds") or 0.0
        engine += start
        detect += max(0.0, s["ready_at"] - s["started_at"] - start - ready_after)
        if k > 0:
            react += max(0.0, s["started_at"] - by_name[f"l{k - 1}s{index}"]["ready_at"])
    return {"engine": engine, "detect": detect, "react": react}


def measure(tool, stack_text, launch, runs_dir, ready_after=1.0):
    project = f"bench-{tool}-{uuid.uuid4().hex[:6]}"
    root = tempfile.mkdtemp(prefix=project, dir=runs_dir)
    os.makedirs(f"{root}/environments"); os.makedirs(f"{root}/compose")
    open(f"{root}/compose/stack.yml", "w").write(stack_text)
    open(f"{root}/environments/bench.yml", "w").write(
        f"name: bench\ncompose: {{project: {project}, files: [stack.yml]}}\nhealth: {{retries: 0}}\n")
    compose = ["docker", "compose", "-p", project, "-f", f"{root}/compose/stack.yml"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.time()
    if tool == "launch":
        proc = subprocess.run([launch, "bench", "--project-dir", root, "--no-cleanup", "--no-network", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env={**os.environ, "CI": "true", "NO_COLOR": "1"})
    else:
        proc = subprocess.run(compose + ["up", "-d", "--wait"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ended = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = host_busy() if tool == "compose" and proc.returncode == 0 else None
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    evidence = {}
    own = None
    chain = None
    if tool == "launch":
        try:
            report = json.loads(proc.stdout)
            own = (report.get("engine") or {}).get("launcher_cpu_seconds")
            for s in report.get("services", []):
                evidence[s.get("readiness") or s.get("state")] = evidence.get(s.get("readiness") or s.get("state"), 0) + 1
            chain = critical_chain(report.get("services", []), ready_after)
        except ValueError:
            pass
    down(compose, project)
    shutil.rmtree(root, ignore_errors=True)
    return {"tool": tool, "total": ended - began, "exit": proc.returncode, "cpu": cpu, "own_cpu": own, "evidence": evidence, "busy": busy,
            "chain": chain}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stacks", default="interval5,interval10,fast,wide,wide5,fifty")
    parser.add_argument("--start-interval", action="store_true")
    parser.add_argument("--launch", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "launch"))
    args = parser.parse_args()
    if not os.path.exists(args.launch):
        sys.exit(f"no launch binary at {args.launch}: run `swift build -c release` first")
    runs_dir = tempfile.mkdtemp(prefix="launch-readiness-")
    version = subprocess.run(["docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"],
                             capture_output=True, text=True).stdout.strip()
    start = engine_start_latency()
    print(f"engine {version}; runs per cell {args.runs}; start_interval {'on' if args.start_interval else 'off'}; "
          f"engine start latency {start:.3f}s (docker start, CLI included)")
    print(f"{'stack':11} {'services':>8} {'floor':>7} {'launch':>8} {'compose':>8} {'ratio':>6} {'launch ok':>9} {'compose ok':>10} "
          f"{'busy after':>10} {'CPU/svc':>8} {'own/svc':>8}  launch readiness evidence")
    rows = []
    for name in args.stacks.split(","):
        stack_text, count, depth = STACKS[name](args.start_interval)
        results = {"launch": [], "compose": []}
        for _ in range(args.runs):
            for tool in ("launch", "compose"):
                r = measure(tool, stack_text, args.launch, runs_dir)
                r["stack"] = name
                rows.append(r)
                results[tool].append(r)
        floor = depth * (1.0 + start)
        med = {t: statistics.median([r["total"] for r in results[t]]) for t in results}
        ok = {t: sum(1 for r in results[t] if r["exit"] == 0) for t in results}
        cpu = statistics.median([r["cpu"] for r in results["launch"]]) / count * 1000
        owns = [r["own_cpu"] for r in results["launch"] if r.get("own_cpu") is not None]
        own = statistics.median(owns) / count * 1000 if owns else float("nan")
        busies = [r["busy"] for r in results["compose"] if r.get("busy") is not None]
        busy = f"{statistics.median(busies) * 100:9.0f}%" if busies else f"{'n/a':>10}"
        evidence = {}
        for r in results["launch"]:
            for key, value in r["evidence"].items():
                evidence[key] = evidence.get(key, 0) + value
        print(f"{name:11} {count:8d} {floor:6.1f}s {med['launch']:7.2f}s {med['compose']:7.2f}s {med['launch'] / med['compose']:6.2f} "
              f"{ok['launch']:>5}/{args.runs:<3} {ok['compose']:>6}/{args.runs:<3} {busy} {cpu:6.1f}ms {own:6.1f}ms  {evidence}")
        chains = [(r["total"], r["chain"]) for r in results["launch"] if r.get("chain")]
        if chains:
            part = {k: statistics.median([c[k] for _, c in chains]) for k in ("engine", "detect", "react")}
            bound = statistics.median([total - c["detect"] - c["react"] for total, c in chains])
            print(f"{'':11} slowest chain: engine {part['engine']:.2f}s  detect {part['detect']:.2f}s  react {part['react']:.3f}s  "
                  f"bound {bound:.2f}s  bound/compose {bound / med['compose']:.2f}")
    json.dump(rows, open(os.path.join(runs_dir, "results.json"), "w"), indent=1)
    print(f"raw results: {runs_dir}/results.json")


if __name__ == "__main__":
    main()
