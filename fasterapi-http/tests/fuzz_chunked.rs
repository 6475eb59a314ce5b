//! The `chunked_splits` fuzz target's corpus (`fuzz/corpus/chunked_splits`), replayed on
//! every test run: each input's body decoded whole and in its pieces must agree. Inputs
//! the fuzzer finds failing are added to that directory.

use fasterapi_http::fuzzing::chunked_splits_input;

#[test]
fn the_chunked_splits_corpus_decodes_alike_whole_and_in_pieces() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/chunked_splits");
    let mut inputs = 0;
    for entry in std::fs::read_dir(dir).expect("the corpus directory") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        chunked_splits_input(&data);
        inputs += 1;
    }
    assert!(inputs >= 8, "only {inputs} inputs in {dir}");
}
