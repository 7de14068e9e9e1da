#!/bin/sh
# Prints, every 0.5 s, the time and the busy fraction of the whole machine (all CPUs, from
# /proc/stat: 1 - (idle + iowait) / total), until killed. Run it beside a benchmark to see how
# much CPU time a phase leaves idle (issue 6: "encoding leaves about a quarter of both cores idle"):
#   bench/cpu_busy.sh > busy.txt & python3 bench/ingest_throughput.py ...; kill $!
prev=$(head -1 /proc/stat)
while true; do
  sleep 0.5
  cur=$(head -1 /proc/stat)
  echo "$prev|$cur" | awk -v t="$(date +%s.%N)" -F'|' '{
    split($1, p, " "); split($2, c, " ")
    pt = 0; ct = 0; for (i = 2; i <= 11; i++) { pt += p[i]; ct += c[i] }
    printf "%.1f %.3f\n", t, 1 - ((c[5] + c[6]) - (p[5] + p[6])) / (ct - pt) }'
  prev=$cur
done
