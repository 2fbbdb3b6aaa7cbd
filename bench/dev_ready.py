# Measures `crm dev` time to ready (exec -> first 200 from /readyz) and idle RSS, 5 runs each
# on a fresh and an existing data dir. Needs a release build: cargo build --release.
# Ports below the ephemeral range (32768+): polling a port in that range can connect the
# socket to itself (TCP self-connect) and hold the port the server is about to bind.
import subprocess, time, urllib.request, sys, shutil, os
def once(data):
    t0=time.perf_counter()
    p=subprocess.Popen([os.environ.get("CRM_BIN", "target/release/crm"),"dev","--data-dir",data,"--listen","127.0.0.1:18080","--admin-listen","127.0.0.1:19464"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
    while True:
        try:
            if urllib.request.urlopen("http://127.0.0.1:18080/readyz",timeout=1).status==200: break
        except Exception:
            if p.poll() is not None: sys.exit(f"crm dev exited with {p.returncode}")
            time.sleep(0.002)
    dt=(time.perf_counter()-t0)*1000
    rss=int([l for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS")][0].split()[1])
    p.terminate(); p.wait()
    return dt, rss
fresh=[];warm=[]
for i in range(5):
    shutil.rmtree("/tmp/readydata",ignore_errors=True)
    fresh.append(once("/tmp/readydata"))
    warm.append(once("/tmp/readydata"))
for name,xs in (("fresh data dir",fresh),("existing data dir",warm)):
    ts=sorted(x[0] for x in xs)
    print(f"{name}: ready ms min={ts[0]:.1f} median={ts[2]:.1f} max={ts[-1]:.1f}; idle RSS {xs[-1][1]/1024:.1f} MiB")
