"""The FastAPI TechEmpower app (benches/peers/py/tfb_fastapi.py: async def handlers, asyncpg)
served by fasterapi: that file's source with its `fastapi` imports changed to `fasterapi`,
nothing else, as a user moving an app would.

    python benches/tfb/py/tfb_fasterapi.py --port 8080 --workers 2
"""
import argparse
import os
import re
import sys

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "peers", "py")
SOURCE = os.path.join(PEERS, "tfb_fastapi.py")
sys.path.insert(0, PEERS)  # its tfb_common
with open(SOURCE) as f:
    source = f.read()
changed, n = re.subn(r"^from fastapi(\.[a-z_.]+)? import", r"from fasterapi\1 import", source,
                     flags=re.M)
assert n == 2, f"expected two fastapi imports in {SOURCE}, changed {n}"
exec(compile(changed, SOURCE, "exec"))

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.getenv("PORT", "8080")))
    ap.add_argument("--workers", type=int, default=int(os.getenv("WORKERS", "1")))
    args = ap.parse_args()
    app.run(host="127.0.0.1", port=args.port, workers=args.workers)  # noqa: F821 (from exec)
