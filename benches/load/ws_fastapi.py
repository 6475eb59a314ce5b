"""The WebSocket echo of the bench (ws.sh) as a FastAPI app: run on uvicorn with the
`websockets` implementation, and on fasterapi with the import changed (ws_fasterapi.py
is generated from this file by ws.sh)."""

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_bytes(await websocket.receive_bytes())
    except WebSocketDisconnect:
        pass
