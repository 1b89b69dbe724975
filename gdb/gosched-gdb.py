# gdb extension for gosched: goroutines in a live process or a core file.
#
# Loaded automatically from the library's .debug_gdb_scripts section, or from a
# <library file name>-gdb.py file in gdb's auto-load directory,
# when the library's path is in gdb's auto-load safe path; by hand with
# `source gosched-gdb.py`. See docs/debugging.md.
#
# Commands:
#   info goroutines           id, name, state, wait reason, how long it has waited,
#                             the M and P it runs on, its thread, its entry function
#   goroutines                the same
#   goroutine N               the line of goroutine N
#   goroutine N CMD           run CMD (bt, info frame, frame 3, ...) in goroutine N
#   goroutine all CMD         run CMD in every goroutine
#
# Everything is read from memory through gs_debug_layout, a descriptor that the
# library exports (src/runtime/debugger.rs): no code runs in the process, and no
# debug information for the library is needed. A goroutine that is running, or in a
# blocking call, is shown on its thread. A parked or runnable one is unwound from the
# context saved when it left its thread: an unwinder gives the selected thread's
# innermost frame the goroutine's saved registers as its caller's, so that every
# command that walks frames sees the goroutine's stack after it, and a frame filter
# hides the thread's own frames from backtraces. No register of the process is written, which
# is what makes it work on core files.
#
# The script may be loaded twice (from the section and from a file): every
# registration replaces the previous one.

import re
import struct
import time

import gdb

try:
    import gdb.unwinder as _gdb_unwinder
except ImportError:  # gdb without Python unwinders: listing works, backtraces do not
    _gdb_unwinder = None

_LAYOUT_SYMBOL = "gs_debug_layout"
_MAGIC = b"GSDEBUG\0"
_VERSION = 1

# The fields of DebugLayout (src/runtime/debugger.rs), in order; repr(C) without
# padding: 8 bytes of magic, four u32, four pointers, then u32s.
_HEAD = "<8sIIII"
_PTRS = ("runtime", "coarse_now", "status_names", "reg_names")
_U32S = (
    "rt_allgs_segs rt_allgs_len rt_allp rt_allp_len allgs_seg_shift allgs_nsegs "
    "seg_published g_size g_sched_sp g_status g_flags g_m g_lockedm g_startfn "
    "g_startarg g_goid g_waitreason g_waitsince g_name g_stack_lo g_stack_hi "
    "gflag_host gflag_main m_id m_tid m_p m_curg p_size p_id frame_size frame_pc "
    "nframe_regs"
).split()
_MAX_FRAME_REGS = 12


class _Layout(object):
    """gs_debug_layout of the program, read from its memory."""

    def __init__(self, addr):
        head = struct.calcsize(_HEAD)
        raw = _read(addr, head)
        magic, version, size, machine, ptr_size = struct.unpack(_HEAD, raw)
        if magic != _MAGIC:
            raise gdb.GdbError("gosched: %s at %#x has no GSDEBUG magic" % (_LAYOUT_SYMBOL, addr))
        if version != _VERSION:
            raise gdb.GdbError(
                "gosched: %s is version %d, this extension reads version %d: "
                "use the gosched-gdb.py of the same release as the library" % (_LAYOUT_SYMBOL, version, _VERSION)
            )
        if ptr_size != 8:
            raise gdb.GdbError("gosched: %d-byte pointers are not supported" % ptr_size)
        fmt = "<" + "Q" * len(_PTRS) + "I" * len(_U32S) + "I" * _MAX_FRAME_REGS
        need = head + struct.calcsize(fmt)
        if size < need:
            raise gdb.GdbError("gosched: %s is %d bytes, expected at least %d" % (_LAYOUT_SYMBOL, size, need))
        values = struct.unpack(fmt, _read(addr + head, need - head))
        self.addr = addr
        self.machine = machine
        for name, v in zip(_PTRS + tuple(_U32S), values):
            setattr(self, name, v)
        regs = values[len(_PTRS) + len(_U32S):]
        self.status_list = _cstr_list(self.status_names)
        names = _cstr_list(self.reg_names)
        if len(names) != self.nframe_regs + 2:
            raise gdb.GdbError("gosched: %s names %d registers for %d slots" % (_LAYOUT_SYMBOL, len(names), self.nframe_regs))
        self.pc_name, self.sp_name = names[0], names[1]
        self.frame_regs = list(zip(names[2:], regs[: self.nframe_regs]))

    def status_name(self, v):
        if 0 <= v < len(self.status_list):
            return self.status_list[v]
        return "status %d" % v


def _read(addr, n):
    return bytes(gdb.selected_inferior().read_memory(addr, n))


def _u64(addr):
    return struct.unpack("<Q", _read(addr, 8))[0]


def _u32(addr):
    return struct.unpack("<I", _read(addr, 4))[0]


def _i32(addr):
    return struct.unpack("<i", _read(addr, 4))[0]


def _cstr(addr, limit=256):
    """The NUL-terminated string at addr (at most limit bytes), or None for NULL."""
    if addr == 0:
        return None
    out = b""
    while len(out) < limit:
        try:
            chunk = _read(addr + len(out), 64)
        except gdb.MemoryError:
            # The string may end right before unreadable memory: read byte by byte.
            try:
                chunk = _read(addr + len(out), 1)
            except gdb.MemoryError:
                break
        end = chunk.find(b"\0")
        if end >= 0:
            out += chunk[:end]
            break
        out += chunk
    return out[:limit].decode("utf-8", "replace")


def _cstr_list(addr):
    """The NUL-separated list at addr that ends with an empty string."""
    raw = _read(addr, 256)
    out = []
    for part in raw.split(b"\0"):
        if not part:
            break
        out.append(part.decode("ascii", "replace"))
    return out


def _symbol_address(name):
    """Address of an ELF symbol (no debug information needed), or None."""
    for expr in ("(unsigned long)&%s" % name, "&%s" % name):
        try:
            return int(gdb.parse_and_eval(expr))
        except gdb.error:
            pass
    # The current language may not know C's syntax: ask in C.
    lang = gdb.parameter("language")
    try:
        gdb.execute("set language c", to_string=True)
        try:
            return int(gdb.parse_and_eval("(unsigned long)&%s" % name))
        except gdb.error:
            return None
    finally:
        gdb.execute("set language %s" % (lang or "auto"), to_string=True)


def _layout():
    addr = _symbol_address(_LAYOUT_SYMBOL)
    if not addr:
        raise gdb.GdbError(
            "gosched: no symbol %s: the program does not use libgosched, or the library is not loaded yet" % _LAYOUT_SYMBOL
        )
    return _Layout(addr)


class _M(object):
    def __init__(self, lay, addr):
        self.addr = addr
        self.id = _u64(addr + lay.m_id)
        self.tid = _i32(addr + lay.m_tid)
        p = _u64(addr + lay.m_p)
        self.p = _u32(p + lay.p_id) if p else None


class _G(object):
    """A snapshot of one G."""

    def __init__(self, lay, addr):
        raw = _read(addr, lay.g_size)

        def q(off):
            return struct.unpack_from("<Q", raw, off)[0]

        def d(off):
            return struct.unpack_from("<I", raw, off)[0]

        self.addr = addr
        self.sched_sp = q(lay.g_sched_sp)
        self.status = d(lay.g_status)
        self.state = lay.status_name(self.status)
        self.flags = d(lay.g_flags)
        self.goid = q(lay.g_goid)
        self.startfn = q(lay.g_startfn)
        self.startarg = q(lay.g_startarg)
        self.waitsince = q(lay.g_waitsince)
        self.stack = (q(lay.g_stack_lo), q(lay.g_stack_hi))
        self._waitreason = q(lay.g_waitreason)
        self._name = q(lay.g_name)
        m = q(lay.g_m)
        self.m = None
        if m and self.state in ("running", "syscall"):
            try:
                self.m = _M(lay, m)
            except gdb.MemoryError:
                self.m = None
        self.host = bool(self.flags & lay.gflag_host)
        self.main = bool(self.flags & lay.gflag_main)

    @property
    def name(self):
        try:
            return _cstr(self._name) or ""
        except gdb.MemoryError:
            return "?"

    @property
    def waitreason(self):
        if self.state != "waiting":
            return ""
        if not self._waitreason:
            return "park"  # as gs_dump says for a NULL reason
        try:
            return _cstr(self._waitreason)
        except gdb.MemoryError:
            return "?"

    def alive(self):
        return self.state not in ("dead", "idle")


def _runtime(lay):
    rt = _u64(lay.runtime)
    if rt == 0:
        raise gdb.GdbError("gosched: no runtime is running (gs_init was not called yet, or gs_shutdown ended it)")
    return rt


def _goroutines(lay, rt, include_dead=False):
    """Every G of the runtime's table, in slot order."""
    segs = _u64(rt + lay.rt_allgs_segs)
    nslots = min(_u64(rt + lay.rt_allgs_len), lay.allgs_nsegs << lay.allgs_seg_shift)
    seglen = 1 << lay.allgs_seg_shift
    out = []
    for si in range((nslots + seglen - 1) // seglen):
        seg = _u64(segs + 8 * si)
        if not seg:
            continue
        n = min(seglen, nslots - si * seglen)
        ptrs = struct.unpack("<%dQ" % n, _read(seg + lay.seg_published, 8 * n))
        for gp in ptrs:
            if not gp:
                continue
            try:
                g = _G(lay, gp)
            except gdb.MemoryError:
                continue
            if include_dead or g.alive():
                out.append(g)
    return out


def _find(lay, rt, goid):
    for g in _goroutines(lay, rt, include_dead=True):
        if g.goid == goid and g.alive():
            return g
    return None


def _is_live_native():
    inf = gdb.selected_inferior()
    conn = getattr(inf, "connection", None)
    if conn is not None:
        return conn.type == "native"
    # gdb before 12: a core file has no process to signal.
    target = gdb.execute("info target", to_string=True)
    return "core file" not in target.lower() and inf.pid > 0


def _now(lay):
    """(now on the clock of waitsince, whether it is the live clock)."""
    if _is_live_native():
        coarse = getattr(time, "CLOCK_MONOTONIC_COARSE", 6)
        try:
            return time.clock_gettime_ns(coarse), True
        except (AttributeError, OSError):
            return time.clock_gettime_ns(time.CLOCK_MONOTONIC), True
    # A core file (or a remote target): the runtime's own last reading of the clock.
    return struct.unpack("<q", _read(lay.coarse_now, 8))[0], False


def _waited(g, now, live):
    if g.state != "waiting" or not g.waitsince:
        return ""
    ms = max(0, now - g.waitsince) // 1000000
    s = "%d ms" % ms if ms < 60000 else "%d min" % (ms // 60000)
    return s if live else ">=" + s


def _symbol(pc):
    if not pc:
        return "?"
    try:
        block = gdb.block_for_pc(pc)
        while block is not None and block.function is None:
            block = block.superblock
        if block is not None and block.function is not None:
            return block.function.print_name
    except RuntimeError:
        pass
    try:
        text = gdb.execute("info symbol %#x" % pc, to_string=True)
    except gdb.error:
        return "%#x" % pc
    m = re.match(r"(\S+)( \+ \d+)? in section", text)
    return m.group(1) if m else "%#x" % pc


def _describe(g, now, live):
    """gs_dump's header of one goroutine: goroutine N "name" [state, reason, time]."""
    s = "goroutine %d" % g.goid
    if g.name:
        s += ' "%s"' % g.name
    s += " [%s" % g.state
    if g.state == "waiting":
        s += ", %s, %s" % (g.waitreason, _waited(g, now, live))
    s += "]"
    if g.m is not None:
        s += " on M%d" % g.m.id
        if g.m.p is not None:
            s += " P%d" % g.m.p
        s += " (LWP %d)" % g.m.tid
    return s


def _thread_of(g):
    """The gdb thread that runs g (a running goroutine or one in a blocking call)."""
    if g.m is None:
        return None
    for t in gdb.selected_inferior().threads():
        if t.ptid[1] == g.m.tid:
            return t
    return None


def _table(lay, rt):
    now, live = _now(lay)
    gs = _goroutines(lay, rt)
    nprocs = _u64(rt + lay.rt_allp_len)
    clock = "the live clock" if live else "the runtime's last clock reading (a core file: each wait is at least that long)"
    gdb.write("gosched: %d goroutines, %d Ps; waits measured on %s\n" % (len(gs), nprocs, clock))
    rows = [("", "Id", "Name", "State", "Wait reason", "Waiting", "M", "P", "LWP", "Entry")]
    for g in gs:
        mark = "*" if g.m is not None else ""
        flags = []
        if g.host:
            flags.append("host")
        if g.main:
            flags.append("main")
        state = g.state + ("(" + ",".join(flags) + ")" if flags else "")
        m = "M%d" % g.m.id if g.m is not None else "-"
        p = "P%d" % g.m.p if g.m is not None and g.m.p is not None else "-"
        lwp = str(g.m.tid) if g.m is not None else "-"
        rows.append(
            (mark, str(g.goid), g.name or "-", state, g.waitreason or "-", _waited(g, now, live) or "-", m, p, lwp, _symbol(g.startfn))
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [r[0].ljust(widths[0]), r[1].rjust(widths[1])]
        cells += [c.ljust(w) for c, w in zip(r[2:], widths[2:])]
        gdb.write(("  ".join(cells)).rstrip() + "\n")


class InfoGoroutines(gdb.Command):
    """List the goroutines of gosched.

Usage: info goroutines

One line per goroutine that has not ended: id, name, state (waiting, runnable,
running, syscall), wait reason and how long it has waited (for a core file, up to the
runtime's last clock reading), the M and P that run it and their thread (LWP), and
the goroutine's entry function. A '*' marks goroutines that run on a thread now.
Works on live processes and core files: it reads memory only."""

    def __init__(self, name="info goroutines"):
        super(InfoGoroutines, self).__init__(name, gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        if arg.strip():
            raise gdb.GdbError("usage: info goroutines (no arguments)")
        lay = _layout()
        _table(lay, _runtime(lay))


class _Context(object):
    """A saved context as the registers of the frame it resumes."""

    def __init__(self, lay, g):
        sp = g.sched_sp
        self.goid = g.goid
        self.sched_sp = sp
        self.regs = [(lay.pc_name, _u64(sp + lay.frame_pc)), (lay.sp_name, sp + lay.frame_size)]
        for name, off in lay.frame_regs:
            self.regs.append((name, _u64(sp + off)))


class _FrameId(object):
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


if _gdb_unwinder is not None:

    class _GoroutineUnwinder(_gdb_unwinder.Unwinder):
        """While a goroutine command runs: the selected thread's innermost frame has the
        goroutine's saved context as its caller."""

        def __init__(self):
            super(_GoroutineUnwinder, self).__init__("gosched-goroutine")
            self.ctx = None
            self.thread = None
            self.frame0 = None

        def _is_frame0(self, pending):
            # The thread's innermost real frame: the one with the thread's own pc and
            # sp. (Frame #0 itself may be an inline frame, which unwinders never see;
            # no older frame has both the same pc and the same sp.)
            if gdb.selected_thread() is None or gdb.selected_thread().ptid != self.thread:
                return False
            pc = int(pending.read_register(self.ctx.regs[0][0]))
            sp = int(pending.read_register(self.ctx.regs[1][0]))
            return (pc, sp) == self.frame0

        def __call__(self, pending):
            if self.ctx is None or not self._is_frame0(pending):
                return None
            pc_name, sp_name = self.ctx.regs[0][0], self.ctx.regs[1][0]
            pc = pending.read_register(pc_name)
            # The frame's own id: its stack address is the saved context, below the
            # goroutine's frames, so that gdb sees the stack grow in order whatever
            # the addresses of the thread's stack and the goroutine's.
            sp_type = pending.read_register(sp_name).type
            info = pending.create_unwind_info(_FrameId(gdb.Value(self.ctx.sched_sp).cast(sp_type), pc))
            for name, value in self.ctx.regs:
                info.add_saved_register(name, gdb.Value(value).cast(pending.read_register(name).type))
            return info

    _unwinder = _GoroutineUnwinder()
    _gdb_unwinder.register_unwinder(None, _unwinder, replace=True)
else:
    _unwinder = None


class _HideThreadFrame(object):
    """Frame filter: while a goroutine command runs, backtraces leave out the selected
    thread's own innermost frame (the goroutine starts at frame #1)."""

    def __init__(self):
        self.name = "gosched-goroutine"
        self.priority = 100
        self.enabled = True

    def filter(self, frames):
        if _unwinder is None or _unwinder.ctx is None or not _hidden:
            return frames
        return (d for d in frames if d.inferior_frame() not in _hidden)


# The selected thread's frames that a goroutine command hides: its innermost real
# frame and the inline frames in it.
_hidden = []


gdb.frame_filters["gosched-goroutine"] = _HideThreadFrame()


def _run_in(lay, g, cmd, from_tty):
    """Runs the gdb command cmd with goroutine g's frames."""
    if g.m is not None:
        t = _thread_of(g)
        if t is None:
            raise gdb.GdbError("gosched: goroutine %d runs on LWP %d, which gdb does not show" % (g.goid, g.m.tid))
        prev = gdb.selected_thread()
        t.switch()
        try:
            gdb.execute(cmd, from_tty)
        finally:
            if prev is not None and prev.is_valid():
                prev.switch()
        return
    if g.sched_sp == 0:
        gdb.write("goroutine %d has not run yet: it will start in %s (argument %#x)\n" % (g.goid, _symbol(g.startfn), g.startarg))
        return
    if _unwinder is None:
        raise gdb.GdbError("gosched: this gdb has no Python unwinders (gdb.unwinder): cannot show a parked goroutine's frames")
    ctx = _Context(lay, g)
    if ctx.regs[0][1] == 0:
        raise gdb.GdbError(
            "gosched: goroutine %d's saved context at %#x reads as zeros: this core file has no copy of its stack "
            "(gdb's gcore leaves out stacks that have guard pages inside their mapping; use gosched-gcore)" % (g.goid, g.sched_sp)
        )
    thread = gdb.selected_thread()
    if thread is None:
        raise gdb.GdbError("gosched: no thread selected")
    newest = gdb.newest_frame()
    frame0 = (int(newest.read_register(ctx.regs[0][0])), int(newest.read_register(ctx.regs[1][0])))
    _unwinder.ctx, _unwinder.thread, _unwinder.frame0 = ctx, thread.ptid, frame0
    gdb.invalidate_cached_frames()
    try:
        f = gdb.newest_frame()
        _hidden[:] = [f]
        while f.type() == gdb.INLINE_FRAME and f.older() is not None:
            f = f.older()
            _hidden.append(f)
        first = f.older()
        if first is None:
            raise gdb.GdbError("gosched: cannot unwind goroutine %d from its saved context at %#x" % (g.goid, g.sched_sp))
        first.select()
        gdb.execute(cmd, from_tty)
    finally:
        _unwinder.ctx = None
        del _hidden[:]
        gdb.invalidate_cached_frames()


class Goroutine(gdb.Command):
    """Run a gdb command in the context of a goroutine.

Usage: goroutine N [COMMAND]
       goroutine all COMMAND

'goroutine 7 bt' is the backtrace of goroutine 7: a parked or runnable goroutine is
unwound from the context it saved when it left its thread (its frames start at #1);
a running one, or one in a blocking call, is shown on its thread. Any command that
looks at frames works ('goroutine 7 info frame', 'goroutine 7 frame 3',
'goroutine 7 bt full'). Without a command, prints the goroutine's line.
'goroutine all bt' runs the command in every goroutine. Works on live processes and
core files: it reads memory and writes no register."""

    def __init__(self):
        super(Goroutine, self).__init__("goroutine", gdb.COMMAND_STACK, gdb.COMPLETE_COMMAND)

    def invoke(self, arg, from_tty):
        argv = arg.strip().split(None, 1)
        if not argv:
            raise gdb.GdbError("usage: goroutine N [COMMAND] | goroutine all COMMAND (for example: goroutine 7 bt)")
        lay = _layout()
        rt = _runtime(lay)
        now, live = _now(lay)
        cmd = argv[1] if len(argv) > 1 else None
        if argv[0] == "all":
            if cmd is None:
                raise gdb.GdbError("usage: goroutine all COMMAND (for example: goroutine all bt)")
            for g in _goroutines(lay, rt):
                gdb.write("\n%s:\n" % _describe(g, now, live))
                try:
                    _run_in(lay, g, cmd, from_tty)
                except gdb.error as e:
                    gdb.write("gosched: %s\n" % e)
            return
        try:
            goid = int(argv[0], 0)
        except ValueError:
            raise gdb.GdbError("gosched: '%s' is not a goroutine id (a number, or 'all')" % argv[0])
        g = _find(lay, rt, goid)
        if g is None:
            raise gdb.GdbError("gosched: no goroutine %d (see info goroutines)" % goid)
        gdb.write("%s:\n" % _describe(g, now, live))
        if cmd is not None:
            _run_in(lay, g, cmd, from_tty)


def _core_segments(f):
    """The PT_LOAD segments of the 64-bit little-endian ELF core file f, as
    (vaddr, file offset, file size)."""
    ehdr = f.read(64)
    if len(ehdr) < 64 or ehdr[:4] != b"\x7fELF" or ehdr[4] != 2 or ehdr[5] != 1:
        raise gdb.GdbError("gosched-gcore: the core file is not a 64-bit little-endian ELF file")
    phoff, shoff = struct.unpack_from("<QQ", ehdr, 32)
    phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
    if phnum == 0xFFFF:  # PN_XNUM: the count is in section header 0's sh_info
        f.seek(shoff)
        phnum = struct.unpack_from("<I", f.read(64), 44)[0]
    f.seek(phoff)
    table = f.read(phentsize * phnum)
    out = []
    for i in range(phnum):
        p_type, _flags, offset, vaddr, _paddr, filesz = struct.unpack_from("<IIQQQQ", table, i * phentsize)
        if p_type == 1 and filesz > 0:
            out.append((vaddr, offset, filesz))
    return out


class GoschedGcore(gdb.Command):
    """Write a core file of the process with every goroutine's stack in it.

Usage: gosched-gcore [FILE]      (FILE defaults to core.PID)

gdb's gcore reads each memory mapping in pieces of 1 MiB and leaves out the rest of
a mapping at the first piece it cannot read whole. gosched carves goroutine stacks
from large mappings with a guard page below each stack; where the kernel has
MADV_GUARD_INSTALL (Linux 6.13), the guards are inside the mapping, and gcore then
leaves out every stack of it. This command runs gcore, then copies each goroutine's
stack into the core file page by page, around the guards. A core file that the
kernel writes (a crash, or kill -ABRT) has the stacks already."""

    def __init__(self):
        super(GoschedGcore, self).__init__("gosched-gcore", gdb.COMMAND_FILES, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        if not _is_live_native():
            raise gdb.GdbError("gosched-gcore: needs a live process (this is a core file or a remote target)")
        lay = _layout()
        rt = _runtime(lay)
        path = arg.strip() or "core.%d" % gdb.selected_inferior().pid
        gdb.execute("gcore %s" % path, from_tty)
        page = 4096
        copied = stacks = 0
        with open(path, "r+b") as f:
            segs = _core_segments(f)

            def put(addr, data):
                for vaddr, off, size in segs:
                    if vaddr <= addr and addr + len(data) <= vaddr + size:
                        f.seek(off + addr - vaddr)
                        f.write(data)
                        return True
                return False

            for g in _goroutines(lay, rt):
                lo, hi = g.stack
                if not lo or hi <= lo:
                    continue
                stacks += 1
                try:
                    if put(lo, _read(lo, hi - lo)):
                        copied += hi - lo
                        continue
                except gdb.MemoryError:
                    pass
                for a in range(lo - lo % page, hi, page):
                    try:
                        if put(a, _read(a, page)):
                            copied += page
                    except gdb.MemoryError:
                        pass  # a guard page, or a page the core file has no room for
        gdb.write("gosched-gcore: copied %d KiB of %d goroutine stacks into %s\n" % (copied // 1024, stacks, path))


InfoGoroutines()
InfoGoroutines("goroutines")
Goroutine()
GoschedGcore()
