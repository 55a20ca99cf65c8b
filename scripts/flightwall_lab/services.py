"""The inet namespace's servers: lab CA and certificates, fake tiles,
dnsmasq (allowed and rogue resolvers), nginx (every lab web server), the UDP
echo; and wait_ready(), which polls each one until it answers.

Configs are rendered from scripts/lab.d/*.in into the state dir; servers
write pid files into <state>/pids and logs into <state>/logs.
"""

import os
import shutil
import subprocess
import sys

from .names import LAB_D, Lab
from .procs import LabError, in_ns, output, run, wait_until

# addr:port pairs (as ss prints them) nginx must listen on before `up` ends.
NGINX_LISTEN = (
    "198.51.100.10:443", "[2001:db8:100::10]:443", "198.51.100.10:80",
    "198.51.100.20:443", "[2001:db8:100::20]:443", "198.51.100.30:443",
    "198.51.100.40:443", "203.0.113.77:443", "203.0.113.77:8443",
    "[2001:db8:77::77]:443", "[2001:db8:77::77]:8443",
)

# name, subjectAltNames: server certificates signed by the lab CA.
CERTS = (
    ("tiles", ("DNS:api.mapbox.com", "DNS:a.tiles.mapbox.com",
               "DNS:b.tiles.mapbox.com", "DNS:tile.openstreetmap.org",
               "IP:198.51.100.10", "IP:2001:db8:100::10")),
    ("vendor", ("DNS:flightlog.dji.com", "DNS:flysafe.dji.com",
                "DNS:www.skypixel.com", "IP:198.51.100.20",
                "IP:2001:db8:100::20")),
    ("analytics", ("DNS:android.bugly.qq.com", "DNS:app-measurement.com",
                   "DNS:firebaseinstallations.googleapis.com",
                   "IP:198.51.100.30")),
    ("cdn", ("DNS:c.tiles.mapbox.com", "DNS:d.tiles.mapbox.com",
             "DNS:edge.cdn-lab.example", "DNS:cdn-upload.dji.com",
             "IP:198.51.100.40")),
    ("ip77", ("IP:203.0.113.77", "IP:2001:db8:77::77")),
)


def exfil_names() -> list:
    """The DNS-exfiltration query names (<hex-chunk>.<seq>.dns-tunnel.example)
    that scripts/lab-app sends, from their one definition, lab.d/exfil.sh."""
    done = run("bash", "-c", 'source "$1" && fw_exfil_names', "exfil",
               os.path.join(LAB_D, "exfil.sh"), capture_output=True, text=True)
    names = done.stdout.split()
    if not names:
        raise LabError("lab.d/exfil.sh printed no exfil names")
    return names


def _openssl(*args: str) -> None:
    run("openssl", *args, capture_output=True)


def _issue_cert(certs: str, name: str, sans) -> None:
    key, csr = f"{certs}/{name}.key", f"{certs}/{name}.csr"
    ext = f"{certs}/{name}.ext"
    _openssl("req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-keyout", key, "-out", csr,
             "-subj", f"/CN=flightwall lab {name}")
    with open(ext, "w", encoding="ascii") as f:
        f.write("\n".join([
            "subjectAltName=" + ",".join(sans),
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=serverAuth", "subjectKeyIdentifier=hash",
            "authorityKeyIdentifier=keyid"]) + "\n")
    _openssl("x509", "-req", "-in", csr, "-CA", f"{certs}/ca.crt", "-CAkey",
             f"{certs}/ca.key", "-set_serial", "0x" + os.urandom(8).hex(),
             "-days", "30", "-extfile", ext, "-out", f"{certs}/{name}.crt")
    os.unlink(csr)
    os.unlink(ext)


def make_certs(lab: Lab, server_certs=CERTS) -> None:
    """The lab CA (certs/ca.crt) and SERVER_CERTS ((name, SANs) pairs, as
    CERTS) signed by it, as certs/<name>.crt and .key."""
    certs = lab.path("certs")
    os.makedirs(certs, exist_ok=True)
    _openssl("req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-keyout", f"{certs}/ca.key",
             "-out", f"{certs}/ca.crt", "-days", "30", "-subj",
             f"/CN=flightwall lab CA ({lab.prefix})", "-addext",
             "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign")
    for name, sans in server_certs:
        _issue_cert(certs, name, sans)


def make_tiles(lab: Lab, coords=((0, 0), (0, 1), (1, 0), (1, 1))) -> None:
    """Small fake zoom-1 tiles at (x, y) COORDS, in the Mapbox and the OSM
    layout: a PNG signature and ~3 KB of noise each."""
    root = lab.path("www", "tiles")
    for x, y in coords:
        for sub in ("v4/mapbox.satellite/1", "1"):
            d = os.path.join(root, sub, str(x))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"{y}.png"), "wb") as f:
                f.write(b"\x89PNG\r\n\x1a\n" + os.urandom(3000))


def _render(lab: Lab, template: str, out: str) -> str:
    with open(os.path.join(LAB_D, template), encoding="utf-8") as f:
        text = f.read()
    text = (text.replace("@STATEDIR@", lab.state)
            .replace("@LOGDIR@", lab.logs).replace("@LABD@", LAB_D))
    path = lab.path(out)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def start_dnsmasq(lab: Lab, template: str, out: str) -> None:
    """Renders lab.d/TEMPLATE into <state>/OUT and starts dnsmasq with it
    (it daemonizes; its pid file and log are the template's)."""
    conf = _render(lab, template, out)
    in_ns(lab.inet, "dnsmasq", f"--conf-file={conf}", capture_output=True)


def start_dns(lab: Lab) -> None:
    with open(lab.path("dnsmasq-exfil.conf"), "w", encoding="ascii") as f:
        for seq, name in enumerate(exfil_names()):
            f.write(f'txt-record={name},"ack-{seq}"\n')
    for which in ("main", "rogue"):
        start_dnsmasq(lab, f"dnsmasq-{which}.conf.in",
                      f"dnsmasq-{which}.conf")


def start_nginx(lab: Lab, template: str = "nginx.conf.in") -> None:
    """Renders lab.d/TEMPLATE into <state>/nginx.conf, tests it and starts
    nginx (it daemonizes; pids/nginx.pid, logs/nginx-*.log)."""
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(lab.path("nginx", d), exist_ok=True)
    conf = _render(lab, template, "nginx.conf")
    args = ("nginx", "-e", f"{lab.logs}/nginx-error.log", "-p",
            lab.path("nginx") + "/", "-c", conf)
    if in_ns(lab.inet, args[0], "-q", "-t", *args[1:], check=False,
             capture_output=True).returncode != 0:
        raise LabError("nginx config test failed (see "
                       f"{lab.logs}/nginx-error.log)")
    in_ns(lab.inet, *args, capture_output=True)


def start_udp_echo(lab: Lab) -> None:
    for addr, pidname in (("203.0.113.88", "udp-echo"),
                          ("2001:db8:88::88", "udp-echo6")):
        with open(f"{lab.logs}/udp-echo.log", "ab") as logf:
            in_ns(lab.inet, "setsid", "-f", sys.executable,
                  os.path.join(LAB_D, "udp_echo.py"), "--bind", addr,
                  "--port", "9999", "--pid-file",
                  lab.path("pids", f"{pidname}.pid"),
                  stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)


def listening(ns: str, proto: str, addrport: str) -> bool:
    """True if something in NS listens on ADDR:PORT (proto t or u)."""
    lines = output("ip", "netns", "exec", ns, "ss", f"-Hln{proto}")
    return any(len(f) > 3 and f[3] == addrport
               for f in (line.split() for line in lines.splitlines()))


def resolver_answers(lab: Lab, server: str, name: str, want: str) -> bool:
    got = output("ip", "netns", "exec", lab.inet, "dig", "+time=1",
                 "+tries=1", "+short", f"@{server}", name, "A")
    return got.strip() == want


def wait_ready(lab: Lab) -> None:
    for server, name, want in (
            ("203.0.113.53", "api.mapbox.com", "198.51.100.10"),
            ("2001:db8:53::53", "api.mapbox.com", "198.51.100.10"),
            ("203.0.113.99", "flightlog.dji.com", "198.51.100.99"),
            ("2001:db8:99::99", "flightlog.dji.com", "198.51.100.99")):
        kind = "rogue resolver" if server.endswith("99") else "resolver"
        wait_until(f"{kind} {server}", 50,
                   lambda s=server, n=name, w=want:
                   resolver_answers(lab, s, n, w))
    for addrport in NGINX_LISTEN:
        wait_until(f"nginx on {addrport}", 50,
                   lambda a=addrport: listening(lab.inet, "t", a))
    for pidname, addrport in (("udp-echo", "203.0.113.88:9999"),
                              ("udp-echo6", "[2001:db8:88::88]:9999")):
        pid_file = lab.path("pids", f"{pidname}.pid")
        wait_until(f"{pidname} pid file", 50,
                   lambda p=pid_file: os.path.getsize(p) > 0)
        wait_until(f"udp echo on {addrport}", 50,
                   lambda a=addrport: listening(lab.inet, "u", a))


def need_tools(*extra: str) -> None:
    missing = [t for t in ("ip", "sysctl", "dnsmasq", "nginx", "openssl",
                           "python3", "ss", "dig") + extra
               if shutil.which(t) is None]
    if missing:
        raise LabError(f"missing tools: {' '.join(missing)} "
                       "(run scripts/setup)")
