# Records a rolling update that the swarm rolls back, and one that completes: the service's UpdateStatus and
# its tasks (with container health) at every poll that differs from the last. Run on a single-node swarm
# manager with the busybox test image; writes update-rolled-back.json and update-completed.json.
import json, socket, http.client, time, subprocess, urllib.parse, sys
class U(http.client.HTTPConnection):
    def __init__(s): super().__init__("x")
    def connect(s):
        s.sock=socket.socket(socket.AF_UNIX); s.sock.connect("/var/run/docker.sock")
def req(m,p,body=None):
    c=U(); c.request(m,"/v1.41"+p,body=body,headers={"Content-Type":"application/json"}); r=c.getresponse(); d=r.read(); return json.loads(d) if d else None
st="launch-e2e-recupd"
def stack(version, healthy):
    return f"""version: "3.8"
services:
  api:
    image: local/busybox:latest
    environment: {{VERSION: "{version}"}}
    command: ["sh", "-c", "trap 'exit 0' TERM; {'touch /tmp/ok; ' if healthy else ''}sleep 3600 & wait"]
    healthcheck: {{test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, timeout: 10s, retries: 2}}
    deploy:
      update_config: {{order: start-first, failure_action: rollback, monitor: 2000ms}}
      rollback_config: {{order: start-first}}
"""
def deploy(text):
    open("rec.yml","w").write(text)
    subprocess.run(["docker","stack","deploy","--resolve-image","never","-c","rec.yml",st],capture_output=True,check=True)
def record(seconds, before):
    t0=time.time(); out=[]
    while time.time()-t0<seconds:
        time.sleep(0.5)
        s=req("GET",f"/services/{st}_api"); u=s.get("UpdateStatus")
        f=urllib.parse.quote(json.dumps({"service":[f"{st}_api"]}))
        obs=[]
        for t in sorted(req("GET",f"/tasks?filters={f}"),key=lambda t:t["CreatedAt"]):
            if t["ID"] in before and t["DesiredState"]!="running": continue
            cs=t["Status"].get("ContainerStatus") or {}
            h=None
            if t["Status"]["State"] in ("starting","running") and cs.get("ContainerID"):
                h=((req("GET",f"/containers/{cs['ContainerID']}/json")["State"].get("Health")) or {}).get("Status")
            obs.append({"id":t["ID"],"desiredState":t["DesiredState"],"state":t["Status"]["State"],"error":t["Status"].get("Err"),"exitCode":cs.get("ExitCode"),"health":h})
        update={"state":u["State"],"message":u.get("Message")} if u else None
        poll={"update":update,"tasks":obs}
        if not out or {k:out[-1][k] for k in ("update","tasks")}!=poll: out.append({"at":round(time.time()-t0,2),**poll})
    return out
def tasks():
    f=urllib.parse.quote(json.dumps({"service":[f"{st}_api"]}))
    return {t["ID"] for t in req("GET",f"/tasks?filters={f}")}
deploy(stack(1,True)); time.sleep(6)
before=tasks(); deploy(stack(2,False)); json.dump(record(16,before),open("update-rolled-back.json","w"),indent=1)
before=tasks(); deploy(stack(3,True)); json.dump(record(10,before),open("update-completed.json","w"),indent=1)
subprocess.run(["docker","stack","rm",st],capture_output=True)
