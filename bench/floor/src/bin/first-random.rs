//! What aws-lc's first random bytes cost in a fresh process: the first TLS handshake of a cold start draws
//! them (client random, key shares), and the first draw seeds aws-lc's DRBG, from CPU jitter entropy unless
//! aws-lc-sys was built with `AWS_LC_SYS_NO_JITTER_ENTROPY=1`. Prints the first and the second draw's
//! wall and process CPU time, in microseconds, as one JSON line. Run it under a CPU quota to see the share.

use std::time::Instant;

fn cpu_us() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1e6 + t.tv_nsec as f64 / 1e3
}

fn draw() -> (f64, f64) {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    let (wall, cpu) = (Instant::now(), cpu_us());
    aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes).expect("random bytes");
    (wall.elapsed().as_secs_f64() * 1e6, cpu_us() - cpu)
}

fn main() {
    let (first_wall, first_cpu) = draw();
    let (second_wall, second_cpu) = draw();
    println!(
        r#"{{"first_wall_us":{first_wall:.0},"first_cpu_us":{first_cpu:.0},"second_wall_us":{second_wall:.0},"second_cpu_us":{second_cpu:.0}}}"#
    );
}
