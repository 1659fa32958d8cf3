"""What every peer script writes the same way: its peak memory, the single-image latencies, and
the one JSON line it ends with (benchmarks/run.py reads it). Beside the scripts, as mnist_files.py."""

import json
import os
import resource
import statistics


def rss_mb():
    """The process's peak resident memory so far, MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def single_latencies(singles):
    """The median and 90th percentile of one-image calls (seconds), in ms, as the table shows them."""
    singles = sorted(singles)
    return {"single_ms_median": round(1000 * statistics.median(singles), 4),
            "single_ms_p90": round(1000 * singles[int(0.9 * (len(singles) - 1))], 4)}


def finish(result, json_out):
    """Add the peak memory and the load average at the end, and write `result` as one JSON line."""
    result["peak_rss_mb"] = round(rss_mb(), 1)
    result["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    json.dump(result, json_out)
    json_out.write("\n")
    json_out.flush()
    return 0
