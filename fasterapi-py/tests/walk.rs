//! The Rust JSON walk of Python values (`fasterapi._fasterapi.dumps`, the encoder of
//! handler results) against Python's own `json` module, in an embedded interpreter.

use pyo3::prelude::*;

const CHECKS: &std::ffi::CStr = cr#"
import json
from fasterapi import _fasterapi

class Str(str): pass
class Int(int): pass

cases = [
    {}, [], "", "plain", "é \u2028 \x01 \x1f \" \\ / \t\n", 0, -1, 2**63 - 1, -2**63, 2**64, -2**100,
    1.5, 1e300, -1e-300, 0.1, -0.0, True, False, None,
    {"a": [1, {"b": (2, 3)}], "c": {"d": None}},
    {1: "int", 2.5: "float", True: "bool", None: "none"},
    Str("sub"), Int(7), [Str("x"), Int(-3)],
]
for case in cases:
    ours = _fasterapi.dumps(case)
    assert json.loads(ours) == json.loads(json.dumps(case)), (case, ours)

assert _fasterapi.dumps(float("nan")) == b"null"
assert _fasterapi.dumps(float("inf")) == b"null"
assert _fasterapi.dumps({"k": "v", "n": 1}) == b'{"k":"v","n":1}'

cycle = []
cycle.append(cycle)
try:
    _fasterapi.dumps(cycle)
    raise AssertionError("a cycle must be refused")
except ValueError:
    pass
try:
    _fasterapi.dumps({(1, 2): 1})
    raise AssertionError("a tuple key must be refused")
except TypeError:
    pass
try:
    _fasterapi.dumps(object())
    raise AssertionError("an unknown object must be refused")
except ValueError:  # FastAPI's jsonable_encoder: neither dict(obj) nor vars(obj)
    pass
"#;

#[test]
fn dumps_agrees_with_json_and_refuses_what_json_cannot_encode(
) -> Result<(), Box<dyn std::error::Error>> {
    fasterapi_py::initialize()?;
    Python::attach(|py| py.run(CHECKS, None, None))?;
    Ok(())
}
