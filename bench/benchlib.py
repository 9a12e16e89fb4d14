"""What the benchmarks share."""
import os, subprocess, time


def down(compose, project):
    """Removes the run's stack. Docker 20.10 sometimes refuses to remove a network whose last container was just
    removed ("has active endpoints"): a few more tries, so no benchmark leaves a network behind."""
    subprocess.run(compose + ["down", "-v", "-t", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(5):
        listed = subprocess.run(["docker", "network", "ls", "-q", "--filter", f"label=com.docker.compose.project={project}"],
                                capture_output=True, text=True).stdout.split()
        if not listed:
            return
        time.sleep(1)
        subprocess.run(["docker", "network", "rm"] + listed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def release_launch(root, given=None):
    """The `launch` binary to measure: `given` (made absolute), else a release build of the checkout at `root`."""
    if given:
        return os.path.abspath(given)
    subprocess.run(["swift", "build", "-c", "release", "--product", "launch"], cwd=root, check=True, capture_output=True)
    return subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=root, check=True,
                          capture_output=True, text=True).stdout.strip() + "/launch"
