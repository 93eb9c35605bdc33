#!/usr/bin/env python3
"""Times the Sync Health console's pages as a person's browser loads them.

    scripts/console-pages.py BASE_URL ORG [--requests N] [--callers C]

Signs in (without a token: the services must run with authentication off,
as scripts/bench-fleet starts them), then loads each page N times from each
of C callers at once, each caller with its own session, and prints the
pages per second and the p50, p99 and p999 time to the last byte of each
page. Standard library only; loopback only.
"""

import argparse
import http.cookiejar
import re
import sys
import threading
import time
import urllib.parse
import urllib.request


def session(base):
    """An opener signed in to the console at `base`."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(base + "/sign-in").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    if not csrf:
        sys.exit("the sign-in page has no CSRF field")
    body = urllib.parse.urlencode({"csrf": csrf.group(1), "without_token": "1"}).encode()
    opener.open(base + "/sign-in", data=body).read()
    return opener


def percentile(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    index = max(1, min(len(sorted_ms), int(len(sorted_ms) * p + 0.999999))) - 1
    return sorted_ms[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the console's URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("org", help="the org whose pages are loaded")
    parser.add_argument("--requests", type=int, default=200, help="loads of each page per caller")
    parser.add_argument("--callers", type=int, default=1, help="callers at once")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    org = urllib.parse.quote(args.org, safe="")
    pages = [
        ("fleet, first page", "/fleet"),
        ("fleet, orgs by UNKNOWN errors", "/fleet?errors_order=unknown"),
        ("org: API call use, suspensions, history", f"/orgs/{org}"),
        ("sync health cards", f"/orgs/{org}/health"),
        ("errors of the org, first page", f"/orgs/{org}/errors"),
    ]
    openers = [session(base) for _ in range(args.callers)]
    print(f"{'page':44} {'pages/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p999 ms':>8}")
    for name, path in pages:
        timings = []
        failures = []
        lock = threading.Lock()

        def caller(opener):
            mine = []
            for _ in range(args.requests):
                started = time.perf_counter()
                try:
                    reply = opener.open(base + path)
                    reply.read()
                    status = reply.status
                except Exception as e:  # a refused page is a finding, not a crash
                    with lock:
                        failures.append(str(e))
                    continue
                mine.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    with lock:
                        failures.append(f"status {status}")
            with lock:
                timings.extend(mine)

        started = time.perf_counter()
        threads = [threading.Thread(target=caller, args=(o,)) for o in openers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        timings.sort()
        print(
            f"{name:44} {len(timings) / elapsed:8.0f} {percentile(timings, 0.5):8.1f}"
            f" {percentile(timings, 0.99):8.1f} {percentile(timings, 0.999):8.1f}"
        )
        if failures:
            print(f"  {len(failures)} failed, first: {failures[0]}")


if __name__ == "__main__":
    main()
