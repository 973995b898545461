"""The process that runs the ingest benchmarks' external tools (benchmarks/ingest-tool-runner.ts).

One request per input line, a JSON array: [output file, program, arguments...]. The program is
started with posix_spawn (its output to the file), awaited with wait4, and one JSON line answers:
{"wall": ms from spawn to exit, "cpu": user + system ms of the tool from its rusage, "status": exit
status, or -signal}. wait4's rusage is the kernel's exact CPU time of the child (microseconds),
where a shell's `times` rounds to 10 ms steps: a tenth of a 100 ms run.
"""
import json
import os
import sys
import time

for line in sys.stdin:
    out, program, *args = json.loads(line)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    t0 = time.perf_counter()
    try:
        pid = os.posix_spawnp(program, [program, *args], os.environ, file_actions=actions)
    except OSError as error:
        print(json.dumps({"wall": 0, "cpu": 0, "status": 127, "error": str(error)}), flush=True)
        continue
    _, status, usage = os.wait4(pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    code = os.waitstatus_to_exitcode(status)
    cpu = (usage.ru_utime + usage.ru_stime) * 1000
    print(json.dumps({"wall": wall, "cpu": cpu, "status": code}), flush=True)
