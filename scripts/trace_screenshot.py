r"""Screenshot of TensorBoard's trace viewer (Profile tab) in headless Chromium: docs/speed.md.

  tensorboard --logdir DIR --port 6006 &   # with tensorboard-plugin-profile installed
  python scripts/trace_screenshot.py --url http://localhost:6006 --out docs/profile_trace.png

It opens the profile plugin's trace viewer on the newest session of the first run with a trace,
waits for the import to finish, zooms to the traced steps and saves a PNG. Chromium runs with
a fresh profile and no network besides the TensorBoard URL (Chromium's DevTools protocol over
a websocket: `pip install websocket-client`).
"""

import argparse
import base64
import gzip
import json
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import websocket  # websocket-client


def _get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read()
        return (gzip.decompress(body) if r.headers.get("Content-Encoding") == "gzip"
                else body).decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:6006")
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", default="1400,760")
    parser.add_argument("--wait", type=float, default=90.0, help="seconds to wait at most")
    parser.add_argument("--port", type=int, default=9231, help="DevTools port")
    args = parser.parse_args()
    profile = args.url + "/data/plugin/profile"
    run = json.loads(_get(profile + "/runs"))[-1]
    host = json.loads(_get(f"{profile}/hosts?run={run}&tag=trace_viewer@"))[0]["hostname"]
    data = f"/data/plugin/profile/data?run={run}&tag=trace_viewer@&host={host}"
    page = (f"{profile}/trace_viewer_index.html?is_streaming=false&is_oss=true&trace_data_url="
            + urllib.parse.quote(data, safe=""))
    user_dir = tempfile.mkdtemp(prefix="chromium_")
    chrome = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         f"--user-data-dir={user_dir}", f"--window-size={args.size}",
         f"--remote-debugging-port={args.port}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                targets = json.loads(_get(f"http://127.0.0.1:{args.port}/json"))
                break
            except OSError:
                time.sleep(0.2)
        target = next(t for t in targets if t["type"] == "page")
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=60)
        ids = iter(range(1, 10**6))

        def call(method, **params):
            i = next(ids)
            ws.send(json.dumps({"id": i, "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == i:
                    return msg.get("result", {})

        def js(expression):
            return call("Runtime.evaluate", expression=expression,
                        returnByValue=True).get("result", {}).get("value")

        call("Page.enable")
        call("Page.navigate", url=page)
        deadline = time.time() + args.wait
        # The import dialog closes when the trace is drawn.
        while time.time() < deadline:
            time.sleep(2)
            if js("document.body && document.body.innerText.indexOf('Importing') < 0 && "
                  "document.querySelector('tr-ui-timeline-view') !== null"):
                break
        time.sleep(3)
        # Expand every process, then fit the whole trace ('0' in the trace viewer).
        js("[...document.querySelectorAll('*')].filter(e => e.textContent === 'Expand All')"
           ".forEach(e => e.click())")
        for key in ("0",):
            for kind in ("keyDown", "keyUp"):
                call("Input.dispatchKeyEvent", type=kind, key=key, text=key)
        time.sleep(3)
        shot = call("Page.captureScreenshot", format="png")
        with open(args.out, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(f"{args.out}: trace viewer of {run} ({host})")
    finally:
        chrome.terminate()
        chrome.wait()
        shutil.rmtree(user_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
