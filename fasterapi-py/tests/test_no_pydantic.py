"""Without pydantic: bodies are checked for their shape only, enums by their class."""

import requests


def test_without_pydantic(spawn_server):
    s = spawn_server("app_no_pydantic.py")
    assert requests.get(s.url + "/color?c=red", timeout=10).json() == {"c": "red"}
    r = requests.get(s.url + "/color?c=green", timeout=10)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "c"]
    assert r.json()["detail"][0]["type"] == "value_error"
    assert requests.post(s.url + "/numbers", json=[1, 2, 3], timeout=10).json() == {"n": 3}
    r = requests.post(s.url + "/numbers", json={"not": "a list"}, timeout=10)
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "list_type"
    assert requests.post(s.url + "/dict", json={"k": 1}, timeout=10).json() == {"k": 1}
    assert s.stop() == 0
