import json, socket, http.client, time, subprocess, urllib.parse, sys
class U(http.client.HTTPConnection):
    def __init__(s): super().__init__("x")
    def connect(s):
        s.sock=socket.socket(socket.AF_UNIX); s.sock.connect("/var/run/docker.sock")
def req(m,p,body=None):
    c=U(); c.request(m,"/v1.41"+p,body=body,headers={"Content-Type":"application/json"}); r=c.getresponse(); d=r.read(); return json.loads(d) if d else None
st="launch-e2e-rec2"
subprocess.run(["docker","stack","deploy","--resolve-image","never","-c","rec.yml",st],capture_output=True,check=True)
svcs=["db","migrate","crash","sick"]
for s in svcs:
    j=req("GET",f"/services/{st}_{s}"); spec=j["Spec"]
    if "ReplicatedJob" in spec["Mode"]: spec["Mode"]["ReplicatedJob"]={"TotalCompletions":1,"MaxConcurrent":1}
    else: spec["Mode"]["Replicated"]={"Replicas":1}
    req("POST",f"/services/{st}_{s}/update?version={j['Version']['Index']}",json.dumps(spec))
t0=time.time(); out={s:[] for s in svcs}
while time.time()-t0<14:
    time.sleep(0.5)
    for s in svcs:
        f=urllib.parse.quote(json.dumps({"service":[f"{st}_{s}"]}))
        obs=[]
        for t in sorted(req("GET",f"/tasks?filters={f}"),key=lambda t:t["CreatedAt"]):
            cs=t["Status"].get("ContainerStatus") or {}
            h=None
            if t["Status"]["State"]=="running" and cs.get("ContainerID"):
                h=((req("GET",f"/containers/{cs['ContainerID']}/json")["State"].get("Health")) or {}).get("Status")
            obs.append({"id":t["ID"],"desiredState":t["DesiredState"],"state":t["Status"]["State"],"error":t["Status"].get("Err"),"exitCode":cs.get("ExitCode"),"health":h})
        if not out[s] or out[s][-1]["tasks"]!=obs: out[s].append({"at":round(time.time()-t0,2),"tasks":obs})
for s in svcs: json.dump(out[s],open(f"rec/{s}.json","w"),indent=1)
subprocess.run(["docker","stack","rm",st],capture_output=True)
