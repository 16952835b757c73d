//! A client connection fed arbitrary bytes in fuzz-chosen chunks, with
//! sends, partial writes and EOF interleaved. See `common::run_connection`
//! for the input layout and the invariants checked.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use rfc6455::Role;

fuzz_target!(|data: &[u8]| common::run_connection(Role::Client, data));
