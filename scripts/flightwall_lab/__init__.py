"""The flightwall namespace lab as a Python library (standard library only).

Three network namespaces stand in for a flight tablet, the router flightwall
runs on, and "the internet" (lab DNS, map-tile, vendor-cloud, analytics, CDN
and side-channel servers). The modules follow the lab's own data flow:

  names.py     what a lab is called and where its state lives (Lab)
  procs.py     running commands in namespaces, bounded polling, LabError
  topology.py  namespaces, veths, addresses, routes, offloads
  services.py  certificates, tiles, dnsmasq, nginx, UDP echo, readiness
  lab.py       up / down / status of a whole lab (always cleans up)
  daemon.py    `flightwall run` in the gateway namespace
  witness.py   tcpdump captures (ready once "listening on") and tshark counts
  checks.py    one PASS/FAIL counter and the "N passed, M failed" line
  cases.py     a test as a table of cases: clients, expectations, witnesses
  __main__.py  the command line scripts/lab delegates to

Nothing is configured in the root namespace except /etc/netns/<tablet>
(its resolv.conf); only documentation address ranges are used. Every wait is
bounded and polls a readiness signal. Errors are LabError with a message that
says what to do.
"""
