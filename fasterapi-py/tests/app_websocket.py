"""WebSocket routes: the app of test_websocket_conformance.py and the echo of the bench.

    python app_websocket.py PORT WORKERS
"""

import asyncio
import contextvars
import sys

from fasterapi import Cookie, Depends, FasterAPI, Header, Query, WebSocket, WebSocketDisconnect, WebSocketException, status

app = FasterAPI()

#: Connections of /room, which broadcasts each message to all of them.
room: set = set()


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    """Sends every message back as it came (text as text, binary as binary)."""
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await websocket.send_text(message["text"])
        else:
            await websocket.send_bytes(message["bytes"])


@app.websocket("/params/{item}")
async def params(websocket: WebSocket, item: int, q: str = Query("none"), x_token: str | None = Header(None),
                 session: str | None = Cookie(None)):
    """Sends the handshake's values, then closes with 4001."""
    await websocket.accept()
    await websocket.send_json({"item": item, "q": q, "x_token": x_token, "session": session,
                               "path": websocket.url.path, "scheme": websocket.url.scheme})
    await websocket.close(4001, "done")


async def token(websocket: WebSocket, token: str | None = Query(None)):
    if token != "secret":
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="bad token")
    return token


@app.websocket("/guarded")
async def guarded(websocket: WebSocket, t: str = Depends(token)):
    await websocket.accept(subprotocol=websocket.scope["subprotocols"][0] if websocket.scope["subprotocols"] else None)
    await websocket.send_text(f"welcome {t}")
    await websocket.close()


@app.websocket("/room")
async def chat(websocket: WebSocket):
    """Broadcasts each message to every member; says when one leaves."""
    await websocket.accept()
    room.add(websocket)
    await websocket.send_text(f"members {len(room)}")
    try:
        async for text in websocket.iter_text():
            for member in list(room):
                await member.send_text(text)
    finally:
        room.discard(websocket)
        for member in list(room):
            await member.send_text("someone left")


@app.websocket("/raise")
async def raises(websocket: WebSocket):
    await websocket.accept()
    await websocket.receive_text()
    raise ValueError("handler failed")


@app.websocket("/sleepy")
async def sleepy(websocket: WebSocket):
    """Waits on the loop (asyncio.sleep) between receiving and answering."""
    await websocket.accept()
    async for text in websocket.iter_text():
        await asyncio.sleep(0.001)
        await websocket.send_text(text.upper())


@app.websocket("/flood/{n}")
async def flood(websocket: WebSocket, n: int):
    """Sends n binary messages of 64 KiB as fast as the connection takes them, then a
    text 'end': with a client that reads slowly, send_bytes waits for room."""
    await websocket.accept()
    chunk = b"x" * 65536
    for _ in range(n):
        await websocket.send_bytes(chunk)
    await websocket.send_text("end")
    await websocket.close()


_conversation = contextvars.ContextVar("conversation", default="unset")


@app.websocket("/context")
async def context(websocket: WebSocket):
    """First a receive that times out ('timed out' is sent then; the client sends nothing
    before it), then each message answered with what the handler sees once woken by it:
    its own task, the context variable it set, a running loop."""
    await websocket.accept()
    task = asyncio.current_task()
    _conversation.set(f"task {id(task)}")
    try:
        await asyncio.wait_for(websocket.receive_text(), 0.01)
    except asyncio.TimeoutError:
        await websocket.send_text("timed out")
    async for text in websocket.iter_text():
        await websocket.send_json({
            "text": text,
            "same_task": asyncio.current_task() is task,
            "context_kept": _conversation.get() == f"task {id(task)}",
            "loop_running": asyncio.get_running_loop() is task.get_loop(),
        })


#: /unread's handler waits for this before it receives anything.
unread_release = asyncio.Event()
#: How many messages /unread's handler received once released, and how it ended.
unread_drained: dict = {}
unread_done = asyncio.Event()


@app.websocket("/unread")
async def unread(websocket: WebSocket):
    """Receives nothing until /release-unread is requested, then drains what it was
    given: the client sends meanwhile, and is closed once too much is unreceived."""
    await websocket.accept()
    await websocket.send_text("ready")
    await unread_release.wait()
    count = 0
    try:
        while True:
            await websocket.receive_bytes()
            count += 1
    except WebSocketDisconnect as e:
        unread_drained.update(count=count, code=e.code)
        unread_done.set()


@app.get("/release-unread")
async def release_unread():
    unread_release.set()
    return {"released": True}


@app.get("/unread-drained")
async def get_unread_drained():
    """Answers once /unread's handler has drained its messages and seen the disconnect."""
    await asyncio.wait_for(unread_done.wait(), 30)
    return unread_drained


@app.get("/http")
def plain():
    return {"http": True}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
