//! Inputs for the parser fuzz target (`fuzz/`), replayed on every test run: the seed
//! corpus, and every crash the fuzzer has found becomes a case here.

use fasterapi_http::fuzzing::serve_bytes;

const CASES: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /users/x HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET /files/%ff%fe/../x HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /q?a=%&b=%zz&&=&c HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET http://h/users/2 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /echo HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
    b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
    b"",
];

#[test]
fn seed_inputs_whole_and_in_pieces() {
    for case in CASES {
        serve_bytes(case, &[]);
        serve_bytes(case, &[0; 64]);
        serve_bytes(case, &[3, 7, 1, 200, 0, 5]);
    }
}
