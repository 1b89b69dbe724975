//! raw_switch: the runtime's context switch against a minimal hand-written one.
//!
//! Ping-pongs between two stacks outside the scheduler, with `gs_ctx_swap` (what the
//! runtime uses: callee-saved registers + MXCSR / x87 control word, ends in
//! `pop; jmp`) and with `gs_bench_min_swap` (callee-saved registers only), and
//! prints one line per switch in the format of the other benchmarks:
//!
//! ```text
//! workload=raw_switch procs=1 n=<round trips> value=<ns> unit=ns/switch impl=gosched ratio_vs_minimal=<r>
//! workload=raw_switch procs=1 n=<round trips> value=<ns> unit=ns/switch impl=minimal
//! ```
//!
//! Each value is the median of `-trials` (default 5) alternating measurements.
//! Run: `cargo bench --bench switch -- [-n ROUNDTRIPS] [-trials K]`
//! (needs `[[bench]] name = "switch"` with `harness = false` in Cargo.toml).

use gosched::bench_support::switch_roundtrip_ns;

fn usage() -> ! {
    eprintln!("usage: switch [-n ROUNDTRIPS] [-trials K]");
    std::process::exit(2)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let k = v.len();
    if k % 2 == 1 {
        v[k / 2]
    } else {
        (v[k / 2 - 1] + v[k / 2]) / 2.0
    }
}

fn main() {
    let mut iters: u64 = 10_000_000;
    let mut trials: usize = 5;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-n" => iters = args.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage()),
            "-trials" => trials = args.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage()),
            // cargo bench passes --bench to harness-less benchmarks.
            "--bench" => {}
            _ => usage(),
        }
    }
    let iters = iters.max(1);
    let trials = trials.max(1);
    let mut full = Vec::with_capacity(trials);
    let mut minimal = Vec::with_capacity(trials);
    for _ in 0..trials {
        // A round trip is two switches.
        minimal.push(switch_roundtrip_ns(iters, true) / 2.0);
        full.push(switch_roundtrip_ns(iters, false) / 2.0);
    }
    let full = median(&mut full);
    let minimal = median(&mut minimal);
    println!(
        "workload=raw_switch procs=1 n={iters} value={full:.3} unit=ns/switch impl=gosched ratio_vs_minimal={:.3}",
        full / minimal
    );
    println!("workload=raw_switch procs=1 n={iters} value={minimal:.3} unit=ns/switch impl=minimal");
}
