"""Helpers shared by bench/ls, bench/read and bench/send.

Nothing here fails a build: a missing peer is skipped with a reason, and the
scripts print figures only.
"""
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(BENCH)
GENMAIL = os.path.join(HERE, "genmail.py")


def bench_dir():
    d = os.environ.get("BENCH_DIR", "/tmp/mail-bench")
    os.makedirs(d, exist_ok=True)
    return d


def say(*a):
    print(*a, flush=True)


def note(msg):
    print("  note: " + msg, file=sys.stderr, flush=True)


def mail_binary():
    """$MAIL_BIN, else build-bench/cmd/mail (built in release mode if
    missing)."""
    b = os.environ.get("MAIL_BIN")
    if b:
        return os.path.abspath(b)
    build = os.path.join(REPO, "build-bench")
    b = os.path.join(build, "cmd", "mail")
    if not os.path.exists(os.path.join(build, "build.ninja")):
        say("building %s (meson, release)" % build)
        subprocess.run(["meson", "setup", build, "-Dbuildtype=release"],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", build], check=True,
                   stdout=subprocess.DEVNULL)
    return b


def ensure_tools(pkgs):
    """pkgs: {package: command}.  Installs missing ones with apt-get when
    root (unless BENCH_NO_INSTALL=1).  Returns {package: reason} for those
    still missing."""
    missing = {p: c for p, c in pkgs.items() if not shutil.which(c)}
    if missing and os.geteuid() == 0 and shutil.which("apt-get") and \
            os.environ.get("BENCH_NO_INSTALL") != "1":
        say("installing " + " ".join(missing))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for p in list(missing):
            r = subprocess.run(["apt-get", "install", "-y", "-q", p], env=env,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if r.returncode == 0 and shutil.which(missing[p]):
                del missing[p]
    return {p: "%s not installed (apt-get install %s failed or not allowed)"
            % (c, p) for p, c in missing.items()}


def can_drop_caches():
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


DROP = "sync; echo 3 > /proc/sys/vm/drop_caches"


def machine():
    cpu = platform.processor() or "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = "%.0f GB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return "%s, nproc %d, %s RAM, %s" % (cpu, os.cpu_count() or 0, mem,
                                         platform.platform())


def load():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def header(title):
    say("== %s  (%s)" % (title, time.strftime("%Y-%m-%d %H:%M %Z")))
    say("   " + machine())
    say("   load average at start: %s (other work on the machine slows wall"
        " times; CPU times are less affected)" % load())


def median(xs):
    xs = sorted(xs)
    k = len(xs)
    if not k:
        return None
    return xs[k // 2] if k % 2 else (xs[k // 2 - 1] + xs[k // 2]) / 2


def timeit(cmd, runs, warmup=0, prepare=None, env=None):
    """Seconds of a shell command: (mean wall, stddev, min wall, mean CPU
    (user + system, the command and its children), median wall).
    Uses hyperfine when present (BENCH_NO_HYPERFINE=1 to avoid it), else a
    plain loop."""
    if shutil.which("hyperfine") and os.environ.get("BENCH_NO_HYPERFINE") != "1":
        with tempfile.NamedTemporaryFile(suffix=".json") as js:
            a = ["hyperfine", "--style", "none", "--runs", str(runs),
                 "--export-json", js.name]
            if warmup:
                a += ["--warmup", str(warmup)]
            if prepare:
                a += ["--prepare", prepare]
            r = subprocess.run(a + [cmd], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                raise RuntimeError("hyperfine failed for %s: %s" % (cmd, r.stderr.strip()))
            res = json.load(open(js.name))["results"][0]
            return (res["mean"], res["stddev"] or 0.0, res["min"],
                    res["user"] + res["system"],
                    res.get("median", res["mean"]))
    ts, cpu = [], []
    for i in range(warmup + runs):
        if prepare:
            subprocess.run(prepare, shell=True, env=env, check=True)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run(cmd, shell=True, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        dt = time.perf_counter() - t
        ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            raise RuntimeError("command failed (%d): %s" % (r.returncode, cmd))
        if i >= warmup:
            ts.append(dt)
            cpu.append(ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime)
    m = sum(ts) / len(ts)
    sd = (sum((x - m) ** 2 for x in ts) / (len(ts) - 1)) ** 0.5 if len(ts) > 1 else 0.0
    return (m, sd, min(ts), sum(cpu) / len(cpu), median(ts))


def run_once(cmd, env=None):
    """(wall seconds, CPU seconds) of one run of a shell command, output
    discarded."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, shell=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    dt = time.perf_counter() - t
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError("command failed (%d): %s" % (r.returncode, cmd))
    return dt, ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime


def interleaved(base, cmds, runs, env=None):
    """Ratios robust to a shared machine's drift: base and each of cmds run
    in turn (base, c1, base, c2, ...) runs times after one warm-up round,
    so that a slow minute slows both sides of a ratio alike.  Returns
    {cmd: (median wall, median CPU, median of the per-round wall ratios
    cmd / the base run just before it, median of the CPU ratios)} and
    base's (median wall, median CPU) under the key None."""
    walls = {c: [] for c in [None] + list(cmds)}
    cpus = {c: [] for c in [None] + list(cmds)}
    ratios = {c: [] for c in cmds}
    cratios = {c: [] for c in cmds}
    for i in range(runs + 1):
        for c in cmds:
            bw, bc = run_once(base, env)
            w, cp = run_once(c, env)
            if i == 0:
                continue   # warm-up round
            walls[None].append(bw)
            cpus[None].append(bc)
            walls[c].append(w)
            cpus[c].append(cp)
            ratios[c].append(w / bw if bw > 0 else 0.0)
            cratios[c].append(cp / bc if bc > 0 else 0.0)
    out = {None: (median(walls[None]), median(cpus[None]))}
    for c in cmds:
        out[c] = (median(walls[c]), median(cpus[c]), median(ratios[c]),
                  median(cratios[c]))
    return out


def fmt_s(t):
    if t is None:
        return "-"
    return "%.3f s" % t if t >= 1 else "%.1f ms" % (t * 1000)


def table(rows, heads, left=1):
    """Prints rows under heads; the first `left` columns flush left."""
    w = [max(len(str(r[i])) for r in rows + [heads]) for i in range(len(heads))]
    line = lambda r: "  ".join(str(c).ljust(w[i]) if i < left else str(c).rjust(w[i])
                               for i, c in enumerate(r))
    say("   " + line(heads))
    for r in rows:
        say("   " + line(r))
