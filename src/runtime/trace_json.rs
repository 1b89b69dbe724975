//! Writes the tracer's records (trace.rs) in the JSON Trace Event format, which the
//! Perfetto UI and chrome://tracing load. Done only when a trace is written out
//! (gs_trace_stop, gs_trace_snapshot, exit), never on the event path.
//!
//! # What the file holds
//!
//! - One process (the program's pid) with one thread track per traced thread:
//!   `M<id>` for the Ms, `thread <tid>` for the others (sysmon, foreign threads).
//! - On an M's track, one complete slice (`"ph":"X"`, category `goroutine`) per run
//!   of a goroutine, named by the goroutine's name (or `G<id>`), with the args `g`,
//!   `p` (the P it ran on) and `end` (`block`, `yield`, `end`, `syscall`, or
//!   `running` when the trace ends first), `stack_kib` (how deep its stack has gone,
//!   from the lowest stack pointer its switches saw) and, for `block`, `reason`. A blocking call
//!   is a nested slice `blocking call`. Between runs: `spinning` and `idle` slices.
//! - A wakeup is a zero-length slice `ready G<id>` (category `wake`, args `g`,
//!   `waker`) on the waker's track with a flow arrow (flow v2: `bind_id`,
//!   `flow_out`) to the wakee's next run slice (`flow_in`). A creation is the same
//!   with category `create` and the name in its args.
//! - Counters (`"ph":"C"`): `idle Ps` and `spinning Ms`, sampled when an M starts
//!   spinning, stops or wakes.
//! - Instants (`"ph":"i"`): steals, hand-offs and yield requests by sysmon, timers
//!   fired, long-running goroutines, and `gs_trace_log` messages (named by their
//!   category). `gs_trace_region_begin/end` are async slices (`b`/`e`) per goroutine.
//!
//! Timestamps are microseconds from the first event, with nanosecond decimals.
//! `otherData` holds `dropped_events` (lost to full buffers), `ring_slots` (the
//! flight recorder's slots per thread, 0 for a whole trace) and per track its
//! `records` and the `slots` they take.

use super::trace::{Ev, Rec, Track, NO_P};
use std::collections::HashMap;
use std::fmt::Write;

/// JSON string literal of `s` (escaped), lossy UTF-8.
fn js(s: &[u8]) -> String {
    let s = String::from_utf8_lossy(s);
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Per-track state while converting.
#[derive(Default)]
struct TrackState {
    /// The goroutine running: goid, start, P.
    run: Option<(u64, u64, u16)>,
    /// A blocking call's start.
    sys: Option<u64>,
    /// Spinning since.
    spin: Option<u64>,
    /// Idle (parked) since.
    idle: Option<u64>,
}

struct Out {
    s: String,
    pid: u32,
    t0: u64,
    first: bool,
}

impl Out {
    fn ts(&self, t: u64) -> String {
        let d = t.saturating_sub(self.t0);
        format!("{}.{:03}", d / 1000, d % 1000)
    }
    fn ev(&mut self, body: &str) {
        if !self.first {
            self.s.push_str(",\n");
        }
        self.first = false;
        self.s.push('{');
        self.s.push_str(body);
        self.s.push('}');
    }
    #[allow(clippy::too_many_arguments)]
    fn slice(&mut self, tid: usize, name: &str, cat: &str, start: u64, end: u64, args: &str, flow: &str) {
        let d = end.saturating_sub(start);
        let body = format!(
            "\"ph\":\"X\",\"pid\":{},\"tid\":{},\"ts\":{},\"dur\":{}.{:03},\"name\":{},\"cat\":\"{}\",\"args\":{{{}}}{}",
            self.pid,
            tid,
            self.ts(start),
            d / 1000,
            d % 1000,
            js(name.as_bytes()),
            cat,
            args,
            flow
        );
        self.ev(&body);
    }
    fn instant(&mut self, tid: usize, name: &str, cat: &str, t: u64, args: &str) {
        let body = format!(
            "\"ph\":\"i\",\"s\":\"t\",\"pid\":{},\"tid\":{},\"ts\":{},\"name\":{},\"cat\":\"{}\",\"args\":{{{}}}",
            self.pid,
            tid,
            self.ts(t),
            js(name.as_bytes()),
            cat,
            args
        );
        self.ev(&body);
    }
}

/// The trace of `tracks` as a JSON document. `names`: goroutine names known besides
/// the creation events (the live goroutines); `dropped`: events lost to full buffers;
/// `ring_slots`: the flight recorder's slots per thread (0: not a ring).
pub(crate) fn render(tracks: &[Track], names: &[(u64, String)], dropped: u64, ring_slots: u64) -> String {
    let mut gname: HashMap<u64, String> = names.iter().cloned().collect();
    for t in tracks {
        for r in &t.recs {
            if r.kind == Ev::GoCreate && !r.s.is_empty() {
                gname.insert(r.g, String::from_utf8_lossy(&r.s).into_owned());
            }
        }
    }
    let name_of = |g: u64| gname.get(&g).cloned().unwrap_or_else(|| format!("G{g}"));
    // Tracks: Ms by id, then the other threads by tid.
    let mut order: Vec<usize> = (0..tracks.len()).collect();
    order.sort_by_key(|&i| (tracks[i].mid == 0, tracks[i].mid, tracks[i].tid));
    let mut all: Vec<(u64, usize, &Rec)> = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        for r in &tracks[i].recs {
            all.push((r.ts, k + 1, r));
        }
    }
    all.sort_by_key(|e| e.0); // stable: each track's own order is kept
    let t0 = all.first().map(|e| e.0).unwrap_or(0);
    let tend = all.last().map(|e| e.0).unwrap_or(0);
    let mut o =
        Out { s: String::with_capacity(all.len() * 160 + 1024), pid: std::process::id(), t0, first: true };
    o.s.push_str("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"gosched\",\"dropped_events\":");
    let _ = write!(o.s, "{dropped},\"ring_slots\":{ring_slots},\"tracks\":[");
    for (k, &i) in order.iter().enumerate() {
        let sep = if k == 0 { "" } else { "," };
        let t = &tracks[i];
        let _ = write!(o.s, "{sep}{{\"tid\":{},\"records\":{},\"slots\":{}}}", k + 1, t.recs.len(), t.slots);
    }
    o.s.push_str("]},\"traceEvents\":[\n");
    let pid = o.pid;
    o.ev(&format!("\"ph\":\"M\",\"pid\":{pid},\"name\":\"process_name\",\"args\":{{\"name\":\"gosched\"}}"));
    for (k, &i) in order.iter().enumerate() {
        let t = &tracks[i];
        let label =
            if t.mid != 0 { format!("M{} (tid {})", t.mid - 1, t.tid) } else { format!("thread {}", t.tid) };
        o.ev(&format!(
            "\"ph\":\"M\",\"pid\":{pid},\"tid\":{},\"name\":\"thread_name\",\"args\":{{\"name\":{}}}",
            k + 1,
            js(label.as_bytes())
        ));
        o.ev(&format!(
            "\"ph\":\"M\",\"pid\":{pid},\"tid\":{},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{}}}",
            k + 1,
            k
        ));
    }
    let mut st: Vec<TrackState> = (0..=tracks.len()).map(|_| TrackState::default()).collect();
    let mut flow_in: HashMap<u64, u64> = HashMap::new();
    let mut next_flow = 1u64;
    let pstr = |p: u16| if p == NO_P { "null".to_string() } else { p.to_string() };
    for &(ts, tid, r) in &all {
        let s = &mut st[tid];
        match r.kind {
            Ev::GoStart => {
                if let Some(since) = s.spin.take() {
                    o.slice(tid, "spinning", "m", since, ts, "", "");
                }
                if let Some(since) = s.idle.take() {
                    o.slice(tid, "idle", "m", since, ts, "", "");
                }
                if let Some((g, start, p)) = s.run.take() {
                    // A start without a stop (events lost): close the run here.
                    let f = flow_in
                        .remove(&g)
                        .map(|id| format!(",\"bind_id\":{id},\"flow_in\":true"))
                        .unwrap_or_default();
                    let args = format!("\"g\":{g},\"p\":{},\"end\":\"lost\"", pstr(p));
                    o.slice(tid, &name_of(g), "goroutine", start, ts, &args, &f);
                }
                st[tid].run = Some((r.g, ts, r.p));
            }
            Ev::GoBlock | Ev::GoYield | Ev::GoEnd | Ev::SyscallBlock => {
                if let Some(since) = s.sys.take() {
                    o.slice(tid, "blocking call", "syscall", since, ts, &format!("\"g\":{}", r.g), "");
                }
                let (start, p) = match s.run.take() {
                    Some((g, start, p)) if g == r.g => (start, p),
                    other => {
                        st[tid].run = other;
                        (ts, r.p) // its start was lost (ring): a zero-length run
                    }
                };
                let end = match r.kind {
                    Ev::GoBlock => "block",
                    Ev::GoYield => "yield",
                    Ev::GoEnd => "end",
                    _ => "syscall",
                };
                let mut args = format!("\"g\":{},\"p\":{},\"end\":\"{end}\"", r.g, pstr(p));
                if r.arg != 0 {
                    let _ = write!(args, ",\"stack_kib\":{}", r.arg.div_ceil(1024));
                }
                if r.kind == Ev::GoBlock {
                    let _ = write!(args, ",\"reason\":{}", js(&r.s));
                }
                let f = flow_in
                    .remove(&r.g)
                    .map(|id| format!(",\"bind_id\":{id},\"flow_in\":true"))
                    .unwrap_or_default();
                o.slice(tid, &name_of(r.g), "goroutine", start, ts, &args, &f);
            }
            Ev::GoReady | Ev::GoCreate => {
                let id = next_flow;
                next_flow += 1;
                flow_in.insert(r.g, id);
                let (label, cat) =
                    if r.kind == Ev::GoReady { ("ready", "wake") } else { ("create", "create") };
                let mut args = format!("\"g\":{},\"waker\":{},\"p\":{}", r.g, r.arg, pstr(r.p));
                if r.kind == Ev::GoCreate {
                    let _ = write!(args, ",\"name\":{}", js(name_of(r.g).as_bytes()));
                }
                let f = format!(",\"bind_id\":{id},\"flow_out\":true");
                o.slice(tid, &format!("{label} G{}", r.g), cat, ts, ts, &args, &f);
            }
            Ev::SyscallEnter => s.sys = Some(ts),
            Ev::SyscallExit => {
                if let Some(since) = s.sys.take() {
                    o.slice(tid, "blocking call", "syscall", since, ts, &format!("\"g\":{}", r.g), "");
                }
            }
            Ev::Spin | Ev::MStop | Ev::MWake => {
                match r.kind {
                    Ev::Spin => {
                        s.spin.get_or_insert(ts);
                    }
                    Ev::MStop => {
                        if let Some(since) = s.spin.take() {
                            o.slice(tid, "spinning", "m", since, ts, "", "");
                        }
                        st[tid].idle = Some(ts);
                    }
                    _ => {
                        if let Some(since) = s.idle.take() {
                            o.slice(tid, "idle", "m", since, ts, "", "");
                        }
                    }
                }
                let t = o.ts(ts);
                o.ev(&format!(
                    "\"ph\":\"C\",\"pid\":{pid},\"ts\":{t},\"name\":\"idle Ps\",\"args\":{{\"idle\":{}}}",
                    r.arg
                ));
                o.ev(&format!(
                    "\"ph\":\"C\",\"pid\":{pid},\"ts\":{t},\"name\":\"spinning Ms\",\"args\":{{\"spinning\":{}}}",
                    r.extra
                ));
            }
            Ev::Steal => o.instant(
                tid,
                &format!("steal {} from P{}", r.extra, r.arg),
                "sched",
                ts,
                &format!("\"from\":{},\"n\":{}", r.arg, r.extra),
            ),
            Ev::Handoff => {
                o.instant(tid, &format!("handoff P{}", r.arg), "sysmon", ts, &format!("\"p\":{}", r.arg))
            }
            Ev::Preempt => o.instant(
                tid,
                &format!("yield request P{}", r.arg),
                "sysmon",
                ts,
                &format!("\"p\":{}", r.arg),
            ),
            Ev::Timers => {
                o.instant(tid, "timers fired", "timer", ts, &format!("\"p\":{},\"n\":{}", r.arg, r.extra))
            }
            Ev::LongRun => o.instant(
                tid,
                &format!("long-running G{}", r.g),
                "longrun",
                ts,
                &if r.s.is_empty() {
                    format!("\"g\":{},\"ms\":{}", r.g, r.arg / 1_000_000)
                } else {
                    format!("\"g\":{},\"ms\":{},\"backtrace\":{}", r.g, r.arg / 1_000_000, js(&r.s))
                },
            ),
            Ev::Log => {
                let mut it = r.s.splitn(2, |&b| b == 0);
                let cat = it.next().unwrap_or(&[]);
                let msg = it.next().unwrap_or(&[]);
                let args = format!("\"g\":{},\"category\":{},\"message\":{}", r.g, js(cat), js(msg));
                o.instant(tid, &String::from_utf8_lossy(cat), "log", ts, &args);
            }
            Ev::RegionBegin | Ev::RegionEnd => {
                let ph = if r.kind == Ev::RegionBegin { "b" } else { "e" };
                let body = format!(
                    "\"ph\":\"{ph}\",\"pid\":{pid},\"tid\":{tid},\"ts\":{},\"name\":{},\"cat\":\"region\",\"id\":\"0x{:x}\",\"args\":{{\"g\":{}}}",
                    o.ts(ts),
                    js(&r.s),
                    r.g,
                    r.g
                );
                o.ev(&body);
            }
            Ev::Str => {}
        }
    }
    // Close what is still open at the end of the trace.
    for (tid, s) in st.iter_mut().enumerate() {
        if let Some(since) = s.sys.take() {
            o.slice(tid, "blocking call", "syscall", since, tend, "", "");
        }
        if let Some((g, start, p)) = s.run.take() {
            let args = format!("\"g\":{g},\"p\":{},\"end\":\"running\"", pstr(p));
            let f = flow_in
                .remove(&g)
                .map(|id| format!(",\"bind_id\":{id},\"flow_in\":true"))
                .unwrap_or_default();
            o.slice(tid, &name_of(g), "goroutine", start, tend, &args, &f);
        }
        if let Some(since) = s.spin.take() {
            o.slice(tid, "spinning", "m", since, tend, "", "");
        }
        if let Some(since) = s.idle.take() {
            o.slice(tid, "idle", "m", since, tend, "", "");
        }
    }
    o.s.push_str("\n]}\n");
    o.s
}
