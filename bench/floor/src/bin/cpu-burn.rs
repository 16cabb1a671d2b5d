//! A calibrated init: burns the CPU time it is given (microseconds, counted from the process's birth, exec
//! included) and then asks the Runtime API for an event, as a function ends its init. Under a CPU quota the
//! bench starts it with several amounts, to show how init's wall time follows its CPU: in steps of the
//! quota's period.

use std::io::{Read, Write};

fn cpu_us() -> u64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as u64 * 1_000_000 + t.tv_nsec as u64 / 1_000
}

fn main() {
    let burn: u64 =
        std::env::args().nth(1).and_then(|a| a.parse().ok()).expect("usage: cpu-burn MICROSECONDS");
    while cpu_us() < burn {
        std::hint::spin_loop();
    }
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").expect("AWS_LAMBDA_RUNTIME_API");
    let mut stream = std::net::TcpStream::connect(&api).expect("connect to the Runtime API");
    let request = format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {api}\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("ask for an event");
    // The bench sends none: it reads the time of this request and ends the process.
    let _ = stream.read(&mut [0u8; 1]);
}
