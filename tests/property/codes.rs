//! The codes each function of the C API documents, read from `include/gosched.h`.
//!
//! The header's preamble fixes the convention: the paragraph of a function's comment
//! that starts with "Returns" lists every code the function can return. This module
//! parses that paragraph of every prototype into a table, so that the property test
//! checks what it sees against the header itself, not against a second hand-written
//! list that could drift from it. A paragraph that says "errno" ("another negative
//! errno value of read(2)") also allows any other negative errno value.

use std::collections::BTreeMap;

/// What one function's comment documents.
#[derive(Debug, Clone)]
pub struct Doc {
    /// The C return type, e.g. `int`, `int64_t`, `struct gs_chan *`.
    pub ret: String,
    /// The text of the "Returns" paragraph, on one line.
    pub returns: String,
    /// The GS_E* names it lists, in order of first mention.
    pub names: Vec<String>,
    /// Their values.
    pub codes: Vec<i64>,
    /// The paragraph allows other negative errno values too.
    pub any_errno: bool,
}

/// Every prototype of the header, by name, and the header's GS_E* definitions.
pub struct Table {
    pub funcs: BTreeMap<String, Doc>,
    /// GS_E* name -> value, from the `#define GS_E... (-E...)` lines.
    pub defined: BTreeMap<String, i64>,
}

/// The errno value of a libc constant name used by the header's definitions.
fn errno_value(name: &str) -> Option<i64> {
    let v = match name {
        "EINVAL" => libc::EINVAL,
        "ENOMEM" => libc::ENOMEM,
        "EAGAIN" => libc::EAGAIN,
        "ETIMEDOUT" => libc::ETIMEDOUT,
        "EALREADY" => libc::EALREADY,
        "EPERM" => libc::EPERM,
        "ENXIO" => libc::ENXIO,
        "ESHUTDOWN" => libc::ESHUTDOWN,
        "EPIPE" => libc::EPIPE,
        "ECANCELED" => libc::ECANCELED,
        "EDEADLK" => libc::EDEADLK,
        "EBUSY" => libc::EBUSY,
        _ => return None,
    };
    Some(v as i64)
}

/// The GS_E* words of `text`, in order, each once.
fn gs_names(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("GS_E") {
        let start = i + at;
        let mut end = start + 4;
        while end < b.len() && (b[end].is_ascii_uppercase() || b[end].is_ascii_digit() || b[end] == b'_') {
            end += 1;
        }
        let before_ok = start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_');
        let w = &text[start..end];
        if before_ok && w.len() > 4 && !out.iter().any(|x| x == w) {
            out.push(w.to_string());
        }
        i = end;
    }
    out
}

/// Parses the header text into a table. Errors name what breaks the convention.
pub fn parse(header: &str) -> Result<Table, String> {
    let mut defined = BTreeMap::new();
    for line in header.lines() {
        let mut it = line.split_whitespace();
        if it.next() != Some("#define") {
            continue;
        }
        let (Some(name), Some(val)) = (it.next(), it.next()) else {
            continue;
        };
        if !name.starts_with("GS_E") {
            continue;
        }
        let e = val.trim_start_matches("(-").trim_end_matches(')');
        let v = errno_value(e)
            .ok_or_else(|| format!("{name} is defined as {val}, an errno this table does not know"))?;
        defined.insert(name.to_string(), -v);
    }
    if defined.is_empty() {
        return Err("the header defines no GS_E* code".into());
    }

    let lines: Vec<&str> = header.lines().collect();
    let mut funcs = BTreeMap::new();
    // The last comment seen, and whether only blank lines followed it.
    let mut comment: Option<Vec<String>> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        if t.starts_with("/*") {
            let mut body = Vec::new();
            let mut first = t.trim_start_matches("/*").to_string();
            loop {
                if let Some(end) = first.find("*/") {
                    body.push(first[..end].trim().to_string());
                    break;
                }
                body.push(first.trim().to_string());
                i += 1;
                if i == lines.len() {
                    return Err("unterminated comment".into());
                }
                first = lines[i].to_string();
            }
            comment = Some(body);
            i += 1;
            continue;
        }
        let is_proto = !line.starts_with(' ')
            && !line.starts_with('#')
            && !line.starts_with("typedef")
            && line.contains("gs_")
            && line.contains('(');
        if is_proto {
            let mut decl = line.to_string();
            while !decl.trim_end().ends_with(';') {
                i += 1;
                if i == lines.len() {
                    return Err(format!("unterminated prototype: {line}"));
                }
                decl.push(' ');
                decl.push_str(lines[i].trim());
            }
            let open = decl.find('(').unwrap();
            let head = decl[..open].trim_end();
            let name_at = head.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |p| p + 1);
            let name = head[name_at..].to_string();
            let ret = head[..name_at].trim().to_string();
            if !name.starts_with("gs_") {
                return Err(format!("a prototype whose name does not start with gs_: {decl}"));
            }
            let body = comment.take().ok_or_else(|| format!("{name} has no comment"))?;
            let paragraphs: Vec<String> =
                body.split(|l| l.is_empty()).map(|p| p.join(" ")).filter(|p| !p.trim().is_empty()).collect();
            let returns: Vec<&String> = paragraphs.iter().filter(|p| p.starts_with("Returns")).collect();
            let returns = match (ret.as_str(), returns.len()) {
                ("void", 0) => String::new(),
                ("void", _) => {
                    return Err(format!("{name} returns nothing but its comment has a Returns paragraph"))
                }
                (_, 1) => returns[0].clone(),
                (_, 0) => {
                    return Err(format!(
                        "{name} returns {ret} but its comment has no paragraph starting with \"Returns\""
                    ))
                }
                (_, n) => {
                    return Err(format!(
                        "{name}: {n} paragraphs start with \"Returns\"; the convention is one"
                    ))
                }
            };
            let names = gs_names(&returns);
            let mut codes = Vec::new();
            for n in &names {
                let v = defined
                    .get(n)
                    .ok_or_else(|| format!("{name} documents {n}, which the header does not define"))?;
                codes.push(*v);
            }
            let any_errno = returns.contains("errno");
            funcs.insert(name, Doc { ret, returns, names, codes, any_errno });
            i += 1;
            continue;
        }
        if !t.is_empty() {
            comment = None;
        }
        i += 1;
    }
    Ok(Table { funcs, defined })
}

/// The table of the checked-in header.
pub fn load() -> Table {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/gosched.h");
    let text = std::fs::read_to_string(path).expect("include/gosched.h is readable");
    match parse(&text) {
        Ok(t) => t,
        Err(e) => panic!("include/gosched.h breaks the Returns convention: {e}"),
    }
}

impl Table {
    /// The documentation of `func`; panics for a name the header does not declare.
    pub fn doc(&self, func: &str) -> &Doc {
        self.funcs.get(func).unwrap_or_else(|| panic!("the header declares no {func}"))
    }

    /// Whether `func`'s comment allows the negative code `rc` (any rc >= 0 passes:
    /// what a success means is the caller's to check).
    pub fn allows(&self, func: &str, rc: i64) -> bool {
        if rc >= 0 {
            return true;
        }
        let d = self.doc(func);
        d.codes.contains(&rc) || (d.any_errno && rc >= -4095)
    }

    /// The GS_E* name of a code, or the negative errno in decimal.
    pub fn name(&self, rc: i64) -> String {
        match self.defined.iter().find(|(_, &v)| v == rc) {
            Some((n, _)) => n.clone(),
            None => format!("{rc}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gosched::ffi::codes::*;

    #[test]
    fn every_prototype_has_a_returns_paragraph_and_the_codes_are_the_librarys() {
        let t = load();
        assert!(t.funcs.len() >= 50, "only {} prototypes parsed", t.funcs.len());
        let lib = [
            ("GS_EINVAL", GS_EINVAL),
            ("GS_ENOMEM", GS_ENOMEM),
            ("GS_EAGAIN", GS_EAGAIN),
            ("GS_ETIMEDOUT", GS_ETIMEDOUT),
            ("GS_EALREADY", GS_EALREADY),
            ("GS_EPERM", GS_EPERM),
            ("GS_ENOTINIT", GS_ENOTINIT),
            ("GS_ESHUTDOWN", GS_ESHUTDOWN),
            ("GS_ECLOSED", GS_ECLOSED),
            ("GS_ECANCELED", GS_ECANCELED),
            ("GS_EDEADLK", GS_EDEADLK),
            ("GS_EBUSY", GS_EBUSY),
        ];
        for (n, v) in lib {
            assert_eq!(t.defined.get(n), Some(&(v as i64)), "{n} in the header vs the library");
        }
        assert_eq!(t.defined.len(), lib.len(), "the header defines codes the library does not have");
        // parse() refuses a non-void function without a Returns paragraph; these are the
        // ones that return codes, and each names at least one failure or says none.
        for (name, d) in &t.funcs {
            let code_like = matches!(d.ret.as_str(), "int" | "ptrdiff_t")
                || (d.ret == "int64_t" && (name == "gs_go" || name.starts_with("gs_go_")));
            if code_like && d.codes.is_empty() && !d.returns.contains("nothing fails") {
                panic!("{name} returns codes but its Returns paragraph names none: {}", d.returns);
            }
        }
    }

    /// The finding this table was made for: the codes a racing gs_shutdown, a missing
    /// runtime or the wrong context give are written down where they happen.
    #[test]
    fn shutdown_and_context_codes_are_documented() {
        let t = load();
        let has = |f: &str, code: &str| t.doc(f).names.iter().any(|n| n == code);
        for f in ["gs_wait", "gs_stats_get", "gs_dump", "gs_ready", "gs_run_for"] {
            assert!(has(f, "GS_ESHUTDOWN") && has(f, "GS_ENOTINIT"), "{f}: {}", t.doc(f).returns);
        }
        for f in ["gs_go", "gs_go_with", "gs_go_copy", "gs_go_copy_with"] {
            assert!(has(f, "GS_ESHUTDOWN") && has(f, "GS_ENOTINIT") && has(f, "GS_EINVAL"), "{f}");
        }
        for f in [
            "gs_main",
            "gs_chan_send",
            "gs_chan_recv",
            "gs_chan_send_timeout",
            "gs_chan_recv_timeout",
            "gs_select",
            "gs_mutex_lock",
            "gs_waitgroup_wait",
        ] {
            assert!(has(f, "GS_ESHUTDOWN") && has(f, "GS_EPERM"), "{f}: {}", t.doc(f).returns);
        }
        assert!(!has("gs_main", "GS_ENOTINIT"), "gs_main starts a runtime rather than report none");
        for f in ["gs_wait", "gs_shutdown", "gs_run_for", "gs_park", "gs_park_timeout", "gs_gosched"] {
            assert!(has(f, "GS_EPERM"), "{f}");
        }
        for f in ["gs_read", "gs_write", "gs_accept", "gs_connect", "gs_close", "gs_dump"] {
            assert!(t.doc(f).any_errno, "{f} returns system errors and says so");
        }
        assert!(!t.doc("gs_select").any_errno && !t.doc("gs_wait").any_errno);
        let sleep = t.doc("gs_sleep");
        assert!(sleep.codes.is_empty(), "gs_sleep: {}", sleep.returns);
        assert!(t.allows("gs_wait", GS_ESHUTDOWN as i64) && !t.allows("gs_wait", GS_ECLOSED as i64));
        assert!(
            t.allows("gs_read", -(libc::ECONNRESET as i64))
                && !t.allows("gs_wait_fd", -(libc::ENOENT as i64))
        );
    }

    #[test]
    fn the_parser_enforces_the_convention() {
        let defs = "#define GS_EINVAL     (-EINVAL)\n#define GS_EPERM      (-EPERM)\n";
        let one = |body: &str, proto: &str| parse(&format!("{defs}\n/*\n{body}\n */\n{proto}\n"));
        let ok = one(
            " Does a thing.\n\n Returns 0; GS_EINVAL for NULL; GS_EPERM\n off-goroutine.",
            "int gs_x(void *p);",
        )
        .expect("a well-formed header");
        let d = ok.doc("gs_x");
        assert_eq!(d.names, ["GS_EINVAL", "GS_EPERM"]);
        assert_eq!(d.codes, [-(libc::EINVAL as i64), -(libc::EPERM as i64)]);
        assert!(!d.any_errno);
        let e = one(
            " Reads.\n\n Returns the count; GS_EINVAL; or another negative errno value.",
            "ptrdiff_t gs_r(int fd);",
        )
        .expect("errno wording");
        assert!(e.doc("gs_r").any_errno);
        assert!(
            one(" Does a thing. Returns 0 or GS_EINVAL.", "int gs_x(void);").is_err(),
            "no Returns paragraph"
        );
        assert!(one(" Does.\n\n Returns 0; GS_EFOO.", "int gs_x(void);").is_err(), "an undefined code");
        assert!(
            one(" Does.\n\n Returns 0.\n\n Returns 1.", "int gs_x(void);").is_err(),
            "two Returns paragraphs"
        );
        assert!(one(" Does.", "void gs_v(void);").is_ok(), "void needs none");
        assert!(parse(&format!("{defs}int gs_x(void);\n")).is_err(), "no comment at all");
    }
}
