"""Run a command and write its wall time and rusage as JSON, from a process of its own.

Linux carries a process's peak RSS across fork and exec: a child forked straight from the benchmark (which
holds the store's exports) would report the benchmark's memory as its own. Forked from this small
launcher instead, the measured command's peak RSS is its own (or this launcher's, some 10 MiB, if less).

    python rusage_launcher.py RESULT.json COMMAND [ARG ...]
"""

import json
import os
import subprocess
import sys
import time


def main() -> int:
    result_path, *argv = sys.argv[1:]
    started = time.monotonic()
    process = subprocess.Popen(argv)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    with open(result_path, "w", encoding="utf-8") as result:
        json.dump({"wall_s": time.monotonic() - started, "cpu_s": usage.ru_utime + usage.ru_stime,
                   "peak_rss_kib": usage.ru_maxrss, "returncode": process.returncode}, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
