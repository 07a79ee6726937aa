"""Real SIP peers for the end-to-end Ro (online charging) test: Kamailio and sipp.

Kamailio (with the IMS charging module ``ims_charging``) is a SIP proxy on
127.0.0.1 that asks a Diameter Ro OCS for credit before it relays an INVITE
(CCR-INITIAL), asks for more while the call lasts (CCR-UPDATE) and reports the
used seconds when the call ends (CCR-TERMINATE).  When the OCS grants no more
time Kamailio sends a BYE to both sides.  sipp plays the caller (UAC) and the
callee (UAS).  Everything listens on 127.0.0.1 only, on free ports, and every
process is started here and stopped by its PID (its own process group).

Debian packages (``make peers`` installs them): ``kamailio``, ``kamailio-ims-modules``
for ims_charging/ims_dialog/cdp/cdp_avp, ``sip-tester`` for sipp.

Typical use::

    kam = start_kamailio(tmp_path, ocs_port=ocs_port, sip_port=sip_port,
                         uas_port=uas_port, wait_for_peer=True)
    uas = start_sipp_uas(tmp_path, uas_port)
    result = run_sipp_uac(tmp_path, sip_port, duration_ms=5000)
    stop_process(uas); stop_process(kam)

What Kamailio 5.6 does on the Ro interface, as measured (see
tests/e2e/test_kamailio_ro.py for the assertions):

* Subscription-Id is END_USER_SIP_URI (type 2) with the caller's From URI
  (P-Asserted-Identity if present) without parameters, e.g.
  ``sip:4917000001@openbss.test``; a ``tel:`` URI gives END_USER_E164 (0).
* The total of the Used-Service-Unit CC-Time over all CCR-U and the CCR-T is
  ceil(seconds from the 200 OK to the BYE at Kamailio), occasionally one
  more because each CCR-U rounds its own part.
* Each CCA must carry MSCC/Granted-Service-Unit/CC-Time, and a Validity-Time
  in the MSCC: without one Kamailio sends a CCR-U right at the answer.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

KAMAILIO_DIR = Path(__file__).resolve().parent / "kamailio"
KAMAILIO_CFG = KAMAILIO_DIR / "kamailio.cfg"
DIAMETER_CFG_TEMPLATE = KAMAILIO_DIR / "diametercfg.xml"

# the Diameter identity Kamailio uses (Origin-Host of CER and CCR)
KAMAILIO_ORIGIN_HOST = "kamailio.openbss.test"
KAMAILIO_ORIGIN_REALM = "openbss.test"


# --- ports and waiting --------------------------------------------------------------------------


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port on 127.0.0.1 that is free right now for ``kind`` (UDP by default)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port() -> int:
    """A port free for UDP and for TCP (sipp opens both for some ports)."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port on 127.0.0.1")


def free_tcp_port() -> int:
    return free_port(socket.SOCK_STREAM)


def udp_port_bound(port: int, host: str = "127.0.0.1") -> bool:
    """Whether some process has a UDP socket bound to host:port (read from /proc/net/udp)."""
    want_ip = "".join(f"{int(b):02X}" for b in reversed(host.split(".")))
    want = f"{want_ip}:{port:04X}"
    any_ip = f"00000000:{port:04X}"
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                local = line.split()[1]
                if local in (want, any_ip):
                    return True
    except OSError:
        pass
    return False


def tcp_port_listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether some process listens on TCP host:port (read from /proc/net/tcp, no connection made)."""
    want_ip = "".join(f"{int(b):02X}" for b in reversed(host.split(".")))
    wanted = {f"{want_ip}:{port:04X}", f"00000000:{port:04X}"}
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] in wanted and fields[3] == "0A":  # 0A = LISTEN
                    return True
    except OSError:
        pass
    return False


def wait_until(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None,
          log: Path | None = None, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}" + _tail(log))
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what}: not after {timeout} s" + _tail(log))


def _tail(log: Path | None, lines: int = 40) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return "\n--- " + str(log) + " (tail) ---\n" + "\n".join(text)


def sip_options_ping(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> str | None:
    """Send one SIP OPTIONS over UDP; return the status line of the answer, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        lport = s.getsockname()[1]
        tag = f"{os.getpid()}{time.monotonic_ns()}"
        msg = (
            f"OPTIONS sip:ping@{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bK{tag}\r\n"
            f"From: <sip:probe@127.0.0.1>;tag={tag}\r\n"
            f"To: <sip:ping@{host}>\r\n"
            f"Call-ID: probe-{tag}@127.0.0.1\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        s.settimeout(timeout)
        s.sendto(msg.encode(), (host, port))
        try:
            data, _ = s.recvfrom(65535)
        except (TimeoutError, ConnectionRefusedError):
            return None
        return data.split(b"\r\n", 1)[0].decode(errors="replace")


# --- processes ----------------------------------------------------------------------------------


def stop_process(proc: subprocess.Popen | None, timeout: float = 10.0) -> int | None:
    """Stop a process started here: SIGTERM to its PID, then SIGKILL to its process group.

    Every process here is started with ``start_new_session=True``, so its process group id
    is its PID and the group holds only what it forked (Kamailio's children).
    """
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    # Kamailio can hang in shutdown (seen with a wedged cdp timer process); and if the main
    # process is gone its children may linger: kill what is left of the group.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    for f in getattr(proc, "open_files", ()):
        f.close()
    return proc.returncode


# --- Kamailio -----------------------------------------------------------------------------------


@dataclass
class KamailioSettings:
    """Everything that varies between runs; defaults match `openbss charging serve` defaults."""

    sip_port: int
    ocs_port: int = 3868
    uas_host: str = "127.0.0.1"
    uas_port: int = 5070
    origin_host: str = KAMAILIO_ORIGIN_HOST
    origin_realm: str = KAMAILIO_ORIGIN_REALM
    # the OCS's Diameter identity: sent as Destination-Host/-Realm in every CCR
    ocs_host: str = "ocs.openbss.test"
    ocs_realm: str = "openbss.test"
    # cdp connects to getaddrinfo(<Peer FQDN>): an IP literal needs no /etc/hosts entry
    ocs_address: str = "127.0.0.1"
    reservation_secs: int = 30  # Requested-Service-Unit CC-Time of the CCR-I
    interim_secs: int = 30  # Requested-Service-Unit CC-Time of each CCR-U
    timer_buffer_secs: int = 5  # send the CCR-U this long before the grant runs out
    tc_secs: int = 5  # cdp Tc: reconnect interval and watchdog (DWR) interval


def render_diameter_config(settings: KamailioSettings) -> str:
    return Template(DIAMETER_CFG_TEMPLATE.read_text()).substitute(
        origin_host=settings.origin_host,
        origin_realm=settings.origin_realm,
        ocs_peer=settings.ocs_address,
        ocs_realm=settings.ocs_realm,
        ocs_port=settings.ocs_port,
        tc=settings.tc_secs,
    )


def _ctl_socket_path(rundir: Path) -> str:
    """The binrpc socket; a unix socket path must stay under 108 bytes, deep tmp dirs are not."""
    path = rundir / "kamailio_ctl"
    if len(str(path)) > 100:
        link = rundir / "short-ctl-dir"
        if not link.exists():
            link.write_text(tempfile.mkdtemp(prefix="kam-ctl-"))
        path = Path(link.read_text()) / "ctl"
    return str(path)


def kamailio_command(settings: KamailioSettings, rundir: Path) -> list[str]:
    def s(value: str) -> str:  # a string define keeps its quotes
        return '"' + value.replace('"', "") + '"'

    defines = {
        "SIP_PORT": str(settings.sip_port),
        "UAS_ADDR": s(f"{settings.uas_host}:{settings.uas_port}"),
        "CDP_CONFIG": s(str(rundir / "diametercfg.xml")),
        "RO_ORIGIN_HOST": s(settings.origin_host),
        "RO_ORIGIN_REALM": s(settings.origin_realm),
        "RO_DEST_HOST": s(settings.ocs_host),
        "RO_DEST_REALM": s(settings.ocs_realm),
        "RO_FORCED_PEER": s(settings.ocs_address),
        "RO_RESERVATION": str(settings.reservation_secs),
        "RO_INTERIM": str(settings.interim_secs),
        "RO_TIMER_BUFFER": str(settings.timer_buffer_secs),
        "CTL_SOCKET": s("unix:" + _ctl_socket_path(rundir)),
    }
    cmd = ["kamailio", "-DD", "-E", "-f", str(KAMAILIO_CFG),
           "-Y", str(rundir), "-P", str(rundir / "kamailio.pid"), "-w", str(rundir),
           "-m", "64", "-M", "8"]
    for name, value in defines.items():
        cmd += ["-A", f"{name}={value}"]
    return cmd


def start_kamailio(tmp_path: Path, ocs_port: int, sip_port: int, *, uas_port: int = 5070,
                   wait_for_peer: bool = False, timeout: float = 20.0,
                   **settings) -> subprocess.Popen:
    """Start Kamailio in the foreground on udp:127.0.0.1:sip_port, charging through the OCS at
    127.0.0.1:ocs_port, relaying every call to the callee at 127.0.0.1:uas_port.

    Returns once Kamailio answers SIP and cdp has begun connecting to the OCS (with
    ``wait_for_peer`` once the Diameter peer is open, i.e. CER/CEA done).  The process gets
    ``log_path``, ``ctl_socket`` and ``settings`` attributes.  Stop it with ``stop_process``.
    ``settings`` are further ``KamailioSettings`` fields (e.g. ``timer_buffer_secs``).
    """
    rundir = Path(tmp_path) / f"kamailio-{sip_port}"
    rundir.mkdir(parents=True, exist_ok=True)
    cfg = KamailioSettings(sip_port=sip_port, ocs_port=ocs_port, uas_port=uas_port, **settings)
    (rundir / "diametercfg.xml").write_text(render_diameter_config(cfg))
    ctl_path = _ctl_socket_path(rundir)
    log_path = rundir / "kamailio.log"
    log = open(log_path, "wb")
    cmd = kamailio_command(cfg, rundir)
    (rundir / "command").write_text(" ".join(cmd) + "\n")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            cwd=rundir, start_new_session=True)
    proc.log_path = log_path
    proc.ctl_socket = "unix:" + ctl_path
    proc.settings = cfg
    proc.open_files = [log]
    try:
        wait_until(lambda: sip_options_ping(sip_port), timeout, "Kamailio SIP port", proc, log_path)
        pattern = f"Trying to connect to {cfg.ocs_address} port {ocs_port}"
        wait_until(lambda: pattern in log_path.read_text(errors="replace"), timeout,
              "Kamailio Diameter connection attempt", proc, log_path)
        if wait_for_peer:
            wait_for_diameter_peer(proc, timeout=timeout)
    except BaseException:
        stop_process(proc)
        raise
    return proc


def kamcmd(proc: subprocess.Popen, *args: str, timeout: float = 5.0) -> str:
    """Run a Kamailio RPC command (binrpc through the ctl socket) and return its output."""
    out = subprocess.run(["kamcmd", "-s", proc.ctl_socket, *args], capture_output=True,
                         text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise RuntimeError(f"kamcmd {' '.join(args)}: {out.stdout}{out.stderr}")
    return out.stdout


def diameter_peer_state(proc: subprocess.Popen) -> str | None:
    """cdp's state of the OCS peer: Closed, Wait_Conn_Ack, Wait_I_CEA, I_Open, R_Open, ..."""
    m = re.search(r"State:\s*(\S+)", kamcmd(proc, "cdp.list_peers"))
    return m.group(1) if m else None


def wait_for_diameter_peer(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Wait until the CER/CEA with the OCS is done and the peer is open."""
    wait_until(lambda: diameter_peer_state(proc) in ("I_Open", "R_Open"), timeout,
          "Diameter peer open", proc, proc.log_path, interval=0.25)


def charging_stats(proc: subprocess.Popen) -> dict[str, int]:
    """ims_charging counters: initial_ccrs, interim_ccrs, final_ccrs, killed_calls, billed_secs..."""
    out = kamcmd(proc, "stats.get_statistics", "ims_charging:")
    stats = {}
    for line in out.splitlines():
        m = re.match(r"\s*ims_charging:(\w+)\s*=\s*(-?\d+)", line)
        if m:
            stats[m.group(1)] = int(m.group(2))
    return stats


def kamailio_log(proc: subprocess.Popen) -> str:
    return Path(proc.log_path).read_text(errors="replace")


# --- sipp ---------------------------------------------------------------------------------------


def _sipp_common(tmp: Path, name: str, port: int, media_port: int | None) -> tuple[list[str], Path]:
    messages = tmp / f"{name}-messages.log"
    cmd = ["-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
           "-mp", str(media_port or free_udp_port()),
           "-nostdin", "-trace_msg", "-message_file", str(messages),
           "-trace_err", "-error_file", str(tmp / f"{name}-errors.log")]
    return cmd, messages


def start_sipp_uas(tmp_path: Path, port: int, *, scenario: str = "uas_rr.xml", calls: int = 1,
                   timeout: float = 10.0) -> subprocess.Popen:
    """Start the callee (sipp UAS) on udp:127.0.0.1:port; it answers ``calls`` calls and exits.

    Returns once its SIP port is bound.  ``messages_path`` holds every SIP message it sent and
    received, with timestamps (see ``sipp_messages``).
    """
    tmp = Path(tmp_path)
    tmp.mkdir(parents=True, exist_ok=True)
    common, messages = _sipp_common(tmp, f"uas-{port}", port, None)
    cmd = ["sipp", "-sf", str(KAMAILIO_DIR / scenario), "-m", str(calls), *common]
    out = open(tmp / f"uas-{port}.out", "wb")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            cwd=tmp, start_new_session=True)
    proc.messages_path = messages
    proc.open_files = [out]
    try:
        wait_until(lambda: udp_port_bound(port), timeout, "sipp UAS port", proc, tmp / f"uas-{port}.out")
    except BaseException:
        stop_process(proc)
        raise
    return proc


def start_sipp_uac(tmp_path: Path, proxy_port: int, *, scenario: str = "uac_rr.xml",
                   duration_ms: int = 3000, caller: str = "4917000001",
                   caller_domain: str = "openbss.test", callee: str = "4930999",
                   port: int | None = None, calls: int = 1) -> subprocess.Popen:
    """Start a caller (sipp UAC) calling sip:<callee>@127.0.0.1:<proxy_port> from
    sip:<caller>@<caller_domain>; returns at once (see ``run_sipp_uac`` to wait)."""
    tmp = Path(tmp_path)
    tmp.mkdir(parents=True, exist_ok=True)
    port = port or free_udp_port()
    common, messages = _sipp_common(tmp, f"uac-{port}", port, None)
    cmd = ["sipp", f"127.0.0.1:{proxy_port}", "-sf", str(KAMAILIO_DIR / scenario),
           "-m", str(calls), "-d", str(duration_ms), "-s", callee,
           "-key", "caller", caller, "-key", "caller_domain", caller_domain, *common]
    out = open(tmp / f"uac-{port}.out", "wb")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            cwd=tmp, start_new_session=True)
    proc.messages_path = messages
    proc.output_path = tmp / f"uac-{port}.out"
    proc.open_files = [out]
    return proc


@dataclass
class SippResult:
    returncode: int  # 0: every call went as the scenario says; 1: some failed; 97/99: error
    elapsed: float  # seconds from start to exit
    messages: list[tuple[dt.datetime, str, str]]  # (time, "sent"/"received", first line)
    output: str
    messages_path: Path  # the full -trace_msg log


def run_sipp_uac(tmp_path: Path, proxy_port: int, *, timeout: float = 120.0,
                 **kwargs) -> SippResult:
    """Place the call(s) with ``start_sipp_uac`` and wait until sipp exits."""
    start = time.monotonic()
    proc = start_sipp_uac(tmp_path, proxy_port, **kwargs)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(proc)
        raise
    finally:
        for f in proc.open_files:
            f.close()
    return SippResult(proc.returncode, time.monotonic() - start,
                      sipp_messages(proc.messages_path),
                      Path(proc.output_path).read_text(errors="replace"), Path(proc.messages_path))


_SIPP_STAMP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$")


def sipp_messages(path: Path) -> list[tuple[dt.datetime, str, str]]:
    """Parse a sipp -trace_msg file into (local time, "sent"/"received", first line) tuples."""
    path = Path(path)
    if not path.exists():
        return []
    out: list[tuple[dt.datetime, str, str]] = []
    stamp = None
    direction = None
    expect_first_line = False
    for line in path.read_text(errors="replace").splitlines():
        m = _SIPP_STAMP.match(line)
        if m:
            stamp = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
            direction = None
            continue
        if stamp is not None and direction is None:
            if " message sent " in line:
                direction = "sent"
            elif " message received " in line:
                direction = "received"
            if direction:
                expect_first_line = True
            continue
        if expect_first_line and line.strip():
            out.append((stamp, direction, line.strip()))
            expect_first_line = False
    return out


def answered_seconds(messages: list[tuple[dt.datetime, str, str]]) -> float | None:
    """Seconds from the caller receiving 200 OK (to its INVITE) to the first BYE, either way."""
    answered = bye = None
    for when, direction, first in messages:
        if answered is None and direction == "received" and first.startswith("SIP/2.0 200"):
            answered = when
        elif answered is not None and first.startswith("BYE "):
            bye = when
            break
    if answered is None or bye is None:
        return None
    return (bye - answered).total_seconds()
