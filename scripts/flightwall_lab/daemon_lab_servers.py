"""The daemon test lab's servers (`scripts/lab serve daemon-lab`), for
tests/integration/lib/daemon_lab.sh, which builds its namespaces with
`scripts/lab wire` and deletes everything itself (dl_down).

In the servers' namespace: the lab CA and certificates (certs/), dnsmasq
for the lab policy's names (lab.d/daemon-lab-dnsmasq.conf.in, every query
logged to logs/dnsmasq.log), one nginx for the tile, shared-CDN, vendor and
hard-coded-IP servers (lab.d/daemon-lab-nginx.conf.in, logs/nginx-*.log),
and their files under www/tiles. Pid files go to pids/. serve() returns once
every server answers, or raises LabError; it never stops what it started
(the caller's teardown does).
"""

import os

from . import services
from .names import Lab
from .procs import wait_until

# A denied name (an analytics host of rules/catalog/analytics.yaml) that DNS
# resolves to the tile server's addresses; daemon_lab.sh's DL_CDN_DENIED.
CDN_DENIED = "region1.app-measurement.com"

CERTS = (
    ("tiles", ("DNS:api.mapbox.com", "DNS:a.tiles.mapbox.com",
               "DNS:b.tiles.mapbox.com", "DNS:tile.openstreetmap.org")),
    ("vendor", ("DNS:flightlog.dji.com", "DNS:flysafe.dji.com",
                "DNS:www.skypixel.com")),
    ("cdn", (f"DNS:{CDN_DENIED}",)),
)

# addr:port pairs (as ss prints them) nginx must listen on before serve ends.
NGINX_LISTEN = (
    "198.51.100.10:443", "[2001:db8:100::10]:443", "198.51.100.10:80",
    "[2001:db8:100::10]:80", "198.51.100.20:443", "[2001:db8:100::20]:443",
    "203.0.113.77:8443",
)

# A map page for browsers (the adversary test loads it in Chromium).
MAP_HTML = """<!doctype html>
<html><head><title>daemon lab map</title></head>
<body><img id="tile" src="/v4/mapbox.satellite/1/0/0.png?from=browser" \
alt="tile"></body></html>
"""


def _random_file(path: str, size: int) -> None:
    with open(path, "wb") as f:
        while size > 0:
            chunk = min(size, 1 << 20)
            f.write(os.urandom(chunk))
            size -= chunk


def make_files(lab: Lab, bulk_mb: int) -> None:
    """Tile 1/0/0 (Mapbox and OSM layout), slow.bin (2 MiB), map.html and,
    when BULK_MB > 0, bulk.bin of BULK_MB MiB for the benches."""
    services.make_tiles(lab, coords=((0, 0),))
    root = lab.path("www", "tiles")
    _random_file(os.path.join(root, "slow.bin"), 2 << 20)
    with open(os.path.join(root, "map.html"), "w", encoding="ascii") as f:
        f.write(MAP_HTML)
    if bulk_mb > 0:
        _random_file(os.path.join(root, "bulk.bin"), bulk_mb << 20)


def wait_ready(lab: Lab) -> None:
    for server in ("203.0.113.53", "2001:db8:53::53"):
        wait_until(f"dnsmasq on {server}", 50,
                   lambda s=server: services.resolver_answers(
                       lab, s, "a.tiles.mapbox.com", "198.51.100.10"))
    for addrport in NGINX_LISTEN:
        wait_until(f"nginx on {addrport}", 50,
                   lambda a=addrport: services.listening(lab.inet, "t", a))


def serve(lab: Lab, bulk_mb: int = 0) -> None:
    services.need_tools()
    for d in ("pids", "logs"):
        os.makedirs(lab.path(d), exist_ok=True)
    services.make_certs(lab, CERTS)
    make_files(lab, bulk_mb)
    services.start_dnsmasq(lab, "daemon-lab-dnsmasq.conf.in", "dnsmasq.conf")
    services.start_nginx(lab, "daemon-lab-nginx.conf.in")
    wait_ready(lab)
